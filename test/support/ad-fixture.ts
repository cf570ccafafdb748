/** Bytes the lab's Samba 4.22 DC produced (test/fixtures/ad/lab-dc.json), for codec round trips. */
import { readFileSync } from 'node:fs';

interface Principal {
  objectGUID: string;
  guid: string;
  objectSid: string;
  sid: string;
}

export interface LabDcFixture {
  domain: Principal;
  users: Principal[];
  gmsa: Principal & {
    groupMsaMembership: string;
    managedPasswordId: string;
    managedPasswordRootKeyGuid: string;
  };
  rootKey: {
    cn: string;
    createTime: string;
    createTimeIso: string;
    useStartTime: string;
    useStartTimeIso: string;
    kdfParam: string;
    secretAgreementParam: string;
  };
}

export const labDc: LabDcFixture = JSON.parse(
  readFileSync(new URL('../fixtures/ad/lab-dc.json', import.meta.url), 'utf8'),
) as LabDcFixture;

export const hex = (text: string) => Buffer.from(text, 'hex');
