/**
 * The payload codec: ciphertext only, key rotation, tampering and unknown keys refused, unencrypted payloads
 * refused outside the test mode, failures' messages carried as payloads, clear config errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { failureConverter } from '../../temporal/failure-converter.js';
import { dataConverter, EncryptionCodec, FAILURE_CONVERTER_PATH, KeyRing, readKeyRing } from '../../temporal/codec.js';
import { ConfigError } from '../../config/env.js';

const secret = { password: 'Zq8!known-secret-value' };
const payload = () => defaultPayloadConverter.toPayload(secret);

test('encrypts to ciphertext that names its key, and decrypts back to the same payload', async () => {
  const codec = new EncryptionCodec(KeyRing.parse(KeyRing.generateEntry('k1'), 'T'));
  const [enc] = await codec.encode([payload()]);
  assert.equal(Buffer.from(enc!.metadata!.encoding!).toString(), 'binary/encrypted');
  assert.equal(Buffer.from(enc!.metadata!['encryption-key-id']!).toString(), 'k1');
  assert.ok(!Buffer.from(enc!.data!).includes('known-secret-value'), 'no plaintext in the encoded payload');
  const [dec] = await codec.decode([enc!]);
  assert.deepEqual(defaultPayloadConverter.fromPayload(dec!), secret);
  const [again] = await codec.encode([payload()]);
  assert.notDeepEqual(Buffer.from(again!.data!), Buffer.from(enc!.data!), 'a fresh IV every time');
});

test('rotation: the newest key encrypts, older keys still decrypt; a dropped key is an explicit error', async () => {
  const k1 = KeyRing.generateEntry('k1');
  const k2 = KeyRing.generateEntry('k2');
  const [old] = await new EncryptionCodec(KeyRing.parse(k1, 'T')).encode([payload()]);
  const rotated = new EncryptionCodec(KeyRing.parse(`${k1}\n${k2}`, 'T'));
  const [fresh] = await rotated.encode([payload()]);
  assert.equal(Buffer.from(fresh!.metadata!['encryption-key-id']!).toString(), 'k2');
  assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([old!]))[0]!), secret);
  await assert.rejects(
    new EncryptionCodec(KeyRing.parse(k2, 'T')).decode([old!]),
    /key "k1", which is not in the key ring/,
  );
});

test('a tampered ciphertext does not decrypt', async () => {
  const codec = new EncryptionCodec(KeyRing.parse(KeyRing.generateEntry('k1'), 'T'));
  const [enc] = await codec.encode([payload()]);
  const data = Buffer.from(enc!.data!);
  data[20]! ^= 1;
  // AES-GCM's tag check, not a parse error further on: the tampered bytes never reach the payload decoder.
  await assert.rejects(codec.decode([{ ...enc!, data }]), /^Error: Unsupported state or unable to authenticate data$/);
  const tag = Buffer.from(enc!.data!);
  tag[tag.length - 1]! ^= 1;
  await assert.rejects(codec.decode([{ ...enc!, data: tag }]), /unable to authenticate data/);
});

test('a payload that is not encrypted is refused, naming its encoding; the test mode lets it through', async () => {
  const entry = KeyRing.generateEntry('k1');
  const strict = new EncryptionCodec(KeyRing.parse(entry, 'T'));
  const plain = payload();
  await assert.rejects(strict.decode([plain]), /^Error: refused an unencrypted payload \(encoding "json\/plain"\)/);
  await assert.rejects(strict.decode([{ data: Buffer.from('x') }]), /refused an unencrypted payload \(encoding none\)/);
  // One plaintext payload among encrypted ones refuses the batch: the worker never sees a mix.
  const [enc] = await strict.encode([payload()]);
  await assert.rejects(strict.decode([enc!, plain]), /refused an unencrypted payload/);
  const testMode = new EncryptionCodec(KeyRing.parse(entry, 'T', { allowPlaintext: true }));
  assert.deepEqual(await testMode.decode([plain]), [plain]);
  assert.deepEqual(defaultPayloadConverter.fromPayload((await testMode.decode([enc!]))[0]!), secret);
  // The same from the environment, as worker and API read it.
  assert.equal(readKeyRing({ GMSA_CODEC_KEYS: entry }).allowPlaintext, false);
  assert.equal(readKeyRing({ GMSA_CODEC_KEYS: entry, GMSA_ALLOW_PLAINTEXT_PAYLOADS: 'true' }).allowPlaintext, true);
  assert.throws(
    () => readKeyRing({ GMSA_CODEC_KEYS: entry, GMSA_ALLOW_PLAINTEXT_PAYLOADS: 'yes' }),
    (e: unknown) => e instanceof ConfigError && e.variable === 'GMSA_ALLOW_PLAINTEXT_PAYLOADS',
  );
});

test("failures: the data converter's failure converter carries message and stack trace as a payload", () => {
  assert.equal(
    dataConverter(KeyRing.parse(KeyRing.generateEntry('k1'), 'T')).failureConverterPath,
    FAILURE_CONVERTER_PATH,
  );
  const failure = failureConverter.errorToFailure(
    ApplicationFailure.nonRetryable('approval refused: the proof does not match', 'Forbidden'),
    defaultPayloadConverter,
  );
  assert.equal(failure.message, 'Encoded failure');
  assert.equal(failure.stackTrace, '');
  assert.ok(failure.encodedAttributes, 'the words are a payload, which the codec encrypts');
  const back = failureConverter.failureToError(failure, defaultPayloadConverter);
  assert.equal(back.message, 'approval refused: the proof does not match');
});

test('configuration: missing keys and malformed keys are start-up errors naming the variable', () => {
  assert.throws(
    () => readKeyRing({}),
    (e: unknown) => e instanceof ConfigError && e.variable === 'GMSA_CODEC_KEYS_FILE',
  );
  assert.throws(() => readKeyRing({ GMSA_CODEC_KEYS: 'k1:AAAA' }), /GMSA_CODEC_KEYS: key k1 must be 32 bytes/);
  assert.throws(
    () => readKeyRing({ GMSA_CODEC_KEYS: `${KeyRing.generateEntry('a')},${KeyRing.generateEntry('a')}` }),
    /appears twice/,
  );
  assert.throws(() => readKeyRing({ GMSA_CODEC_KEYS_FILE: '/nonexistent/keys' }), /GMSA_CODEC_KEYS_FILE: cannot read/);
  assert.equal(
    readKeyRing({ GMSA_CODEC_KEYS: `${KeyRing.generateEntry('a')},${KeyRing.generateEntry('b')}` }).current.id,
    'b',
  );
});
