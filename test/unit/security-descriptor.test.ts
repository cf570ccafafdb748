import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addTrustee,
  allowedTrustees,
  buildSecurityDescriptor,
  GMSA_RETRIEVE_MASK,
  gmsaMembershipDescriptor,
  parseSecurityDescriptor,
} from '../../domain/security-descriptor.js';
import { hex, labDc } from '../support/ad-fixture.js';

const dcBytes = hex(labDc.gmsa.groupMsaMembership);
const [user, other] = labDc.users;
const ADMIN = `${labDc.domain.sid}-500`;

test('the descriptor samba-tool wrote parses to its SDDL: O:BA, allow 0xf01ff for LA and both users', () => {
  const sd = parseSecurityDescriptor(dcBytes);
  assert.equal(sd.owner, 'S-1-5-32-544');
  assert.equal(sd.group, undefined);
  assert.equal(sd.sacl, undefined);
  assert.equal(sd.dacl?.revision, 4);
  assert.deepEqual(
    sd.dacl?.aces.map((a) => [a.type, a.flags, a.mask, a.sid]),
    [ADMIN, user!.sid, other!.sid].map((sid) => [0, 0, GMSA_RETRIEVE_MASK, sid]),
  );
  assert.deepEqual(allowedTrustees(dcBytes), [ADMIN, user!.sid, other!.sid]);
});

test('parse then build reproduces the DC bytes exactly', () => {
  assert.deepEqual(buildSecurityDescriptor(parseSecurityDescriptor(dcBytes)), dcBytes);
});

test('a fresh descriptor has the documented layout and the same ACEs as the DC would store', () => {
  const bytes = gmsaMembershipDescriptor([user!.sid]);
  // header: revision 1, control 0x8004, owner at 20, no group, no SACL, DACL after the owner (16 bytes).
  assert.equal(bytes.subarray(0, 20).toString('hex'), '0100048014000000000000000000000024000000');
  assert.equal(bytes.subarray(20, 36).toString('hex'), '01020000000000052000000020020000');
  assert.equal(bytes.length, 20 + 16 + 8 + 8 + 28);
  assert.deepEqual(allowedTrustees(bytes), [user!.sid]);
});

test('adding a trustee keeps every other ACE, the owner and the ACL revision', () => {
  const { descriptor, changed } = addTrustee(dcBytes, 'S-1-5-21-1-2-3-4242');
  assert.equal(changed, true);
  const sd = parseSecurityDescriptor(descriptor);
  assert.equal(sd.owner, 'S-1-5-32-544');
  assert.equal(sd.dacl?.revision, 4);
  assert.deepEqual(allowedTrustees(descriptor), [ADMIN, user!.sid, other!.sid, 'S-1-5-21-1-2-3-4242']);
  assert.deepEqual(descriptor.subarray(20, 36), dcBytes.subarray(20, 36));
});

test('adding a trustee that is already allowed changes nothing, whatever the SID case', () => {
  const { descriptor, changed } = addTrustee(dcBytes, user!.sid.toLowerCase());
  assert.equal(changed, false);
  assert.deepEqual(descriptor, dcBytes);
});

test('a deny ACE or a weaker allow ACE for the SID does not count as allowed', () => {
  const sid = 'S-1-5-21-9-9-9-1000';
  const weak = buildSecurityDescriptor({
    control: 0x8004,
    owner: 'S-1-5-32-544',
    dacl: {
      revision: 2,
      aces: [
        { type: 1, flags: 0, mask: GMSA_RETRIEVE_MASK, sid },
        { type: 0, flags: 0, mask: 0x10, sid },
      ],
    },
  });
  const { descriptor, changed } = addTrustee(weak, sid);
  assert.equal(changed, true);
  assert.equal(parseSecurityDescriptor(descriptor).dacl?.aces.length, 3);
});

test('ACEs of types it does not interpret (object ACEs) and a SACL survive a merge byte for byte', () => {
  // ACCESS_ALLOWED_OBJECT_ACE: header, mask, flags (object type present), object type GUID, SID S-1-1-0.
  const objectAce = Buffer.from(
    '05002800' + '10000000' + '01000000' + '00112233445566778899aabbccddeeff' + '010100000000000100000000',
    'hex',
  );
  const sd = buildSecurityDescriptor({
    control: 0x8000,
    owner: 'S-1-5-32-544',
    group: 'S-1-5-18',
    sacl: { revision: 2, aces: [{ type: 2, flags: 0x40, mask: 0x30000, sid: 'S-1-1-0' }] },
    dacl: { revision: 4, aces: [{ type: 5, flags: 0, mask: 0x10, raw: objectAce }] },
  });
  const parsed = parseSecurityDescriptor(sd);
  assert.deepEqual(parsed.dacl?.aces[0]?.raw, objectAce);
  const { descriptor } = addTrustee(sd, user!.sid);
  const merged = parseSecurityDescriptor(descriptor);
  assert.deepEqual(merged.dacl?.aces[0]?.raw, objectAce);
  assert.deepEqual(merged.sacl, parsed.sacl);
  assert.equal(merged.group, 'S-1-5-18');
  assert.deepEqual(allowedTrustees(descriptor), [user!.sid]);
});

test('a descriptor without a DACL gets one; malformed input is refused', () => {
  const bare = buildSecurityDescriptor({ control: 0x8000, owner: 'S-1-5-32-544' });
  assert.deepEqual(allowedTrustees(addTrustee(bare, user!.sid).descriptor), [user!.sid]);
  assert.throws(() => parseSecurityDescriptor(Buffer.from('not a security descriptor')), /self-relative/);
  assert.throws(() => parseSecurityDescriptor(dcBytes.subarray(0, 60)), /past|truncated/);
  assert.throws(() => addTrustee(dcBytes, 'S-1-x'), /not a SID/);
});
