/**
 * AES-256-GCM over every Temporal payload, with a key ring so keys rotate: new payloads use the newest key, old
 * ones still decrypt with the key named in their metadata. Temporal then stores, and its UI shows, only
 * ciphertext; the API's codec endpoint decrypts for an authorised UI. Decoding refuses a payload that is not
 * encrypted: only a holder of the key ring can give the worker input (a start, a signal, an update), so someone who
 * merely reaches the Temporal frontend cannot. GMSA_ALLOW_PLAINTEXT_PAYLOADS=true lifts that, for tests only.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { ConfigError, optional } from '../config/env.js';

const { Payload: PayloadProto } = proto.temporal.api.common.v1;

export const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface CodecKey {
  id: string;
  key: Buffer;
}

export interface KeyRingOptions {
  /** Decode passes a payload that is not encrypted through instead of refusing it: a test mode, never production. */
  allowPlaintext?: boolean;
}

export const ALLOW_PLAINTEXT_VARIABLE = 'GMSA_ALLOW_PLAINTEXT_PAYLOADS';

/** Keys in rotation order: the last one encrypts, every one decrypts. */
export class KeyRing {
  private readonly byId: Map<string, Buffer>;
  readonly allowPlaintext: boolean;
  constructor(
    readonly keys: CodecKey[],
    options: KeyRingOptions = {},
  ) {
    if (!keys.length) throw new Error('a key ring needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
    this.allowPlaintext = options.allowPlaintext ?? false;
  }
  get current(): CodecKey {
    return this.keys[this.keys.length - 1]!;
  }
  get(id: string): Buffer | undefined {
    return this.byId.get(id);
  }

  /** `id:base64key` entries, comma- or newline-separated; `#` starts a comment line. */
  static parse(text: string, variable: string, options: KeyRingOptions = {}): KeyRing {
    const keys: CodecKey[] = [];
    for (const raw of text.split(/[,\n]/).map((l) => l.trim())) {
      if (!raw || raw.startsWith('#')) continue;
      const colon = raw.indexOf(':');
      const id = raw.slice(0, colon);
      const key = Buffer.from(raw.slice(colon + 1), 'base64');
      if (colon <= 0 || !/^[\w.-]{1,64}$/.test(id)) throw new ConfigError(variable, 'entries are keyId:base64key');
      if (key.length !== 32) throw new ConfigError(variable, `key ${id} must be 32 bytes (base64 of 32 random bytes)`);
      if (keys.some((k) => k.id === id)) throw new ConfigError(variable, `key id ${id} appears twice`);
      keys.push({ id, key });
    }
    if (!keys.length) throw new ConfigError(variable, 'holds no key');
    return new KeyRing(keys, options);
  }

  static generateEntry(id: string): string {
    return `${id}:${randomBytes(32).toString('base64')}`;
  }
}

/**
 * The key ring from GMSA_CODEC_KEYS or GMSA_CODEC_KEYS_FILE; missing is an error, never plaintext. With it, whether
 * decoding lets unencrypted payloads through (GMSA_ALLOW_PLAINTEXT_PAYLOADS, default false).
 */
export function readKeyRing(env: NodeJS.ProcessEnv = process.env): KeyRing {
  const plaintext = optional(env, ALLOW_PLAINTEXT_VARIABLE) ?? 'false';
  if (plaintext !== 'true' && plaintext !== 'false')
    throw new ConfigError(ALLOW_PLAINTEXT_VARIABLE, 'must be true or false (true only in tests)');
  const options = { allowPlaintext: plaintext === 'true' };
  const inline = optional(env, 'GMSA_CODEC_KEYS');
  const file = optional(env, 'GMSA_CODEC_KEYS_FILE');
  if (inline && file) throw new ConfigError('GMSA_CODEC_KEYS', 'set GMSA_CODEC_KEYS or GMSA_CODEC_KEYS_FILE, not both');
  if (inline) return KeyRing.parse(inline, 'GMSA_CODEC_KEYS', options);
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError('GMSA_CODEC_KEYS_FILE', `cannot read ${file}: ${(err as Error).message}`);
    }
    return KeyRing.parse(text, 'GMSA_CODEC_KEYS_FILE', options);
  }
  throw new ConfigError(
    'GMSA_CODEC_KEYS_FILE',
    'is required: payloads are encrypted. Make a key ring with ' +
      `node -e "console.log('k1:'+require('crypto').randomBytes(32).toString('base64'))" > codec-keys`,
  );
}

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: KeyRing) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.ring.current;
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = PayloadProto.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: Buffer.from(ENCODING), [KEY_ID]: Buffer.from(id) }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const encoding = Buffer.from(p.metadata?.encoding ?? []).toString();
      if (encoding !== ENCODING) {
        if (this.ring.allowPlaintext) return p;
        throw new Error(
          `refused an unencrypted payload (encoding ${encoding ? `"${encoding}"` : 'none'}): input must come ` +
            `through the API or a client with the codec key ring (GMSA_CODEC_KEYS); ${ALLOW_PLAINTEXT_VARIABLE} ` +
            'is for tests only',
        );
      }
      const id = Buffer.from(p.metadata?.[KEY_ID] ?? []).toString();
      const key = this.ring.get(id);
      if (!key) throw new Error(`payload encrypted with key "${id}", which is not in the key ring`);
      const data = Buffer.from(p.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return PayloadProto.decode(plain) as Payload;
    });
  }
}

// Same extension as this file: .ts when run from source, .js when compiled.
const here = fileURLToPath(import.meta.url);
/** The failure converter module (encodeCommonAttributes) that workers, clients and workflow bundles load. */
export const FAILURE_CONVERTER_PATH = path.join(path.dirname(here), `failure-converter${path.extname(here)}`);

/**
 * The data converter every Temporal client and worker of the product uses: encrypted payloads, and failures whose
 * message and stack trace are payloads too, so they are encrypted as well.
 */
export function dataConverter(ring: KeyRing) {
  return { payloadCodecs: [new EncryptionCodec(ring)], failureConverterPath: FAILURE_CONVERTER_PATH };
}
