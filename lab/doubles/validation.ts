/**
 * Doubles of ValidationActivities (contract/validation.ts): the pod "ran" every check and each passed, with the
 * input's own names in the answer (pod name from binding and run, the gMSA in the ticket, the domain's DC).
 */
import type { ValidationActivities } from '../../contract/validation.js';
import { validationPodName } from '../../activities/kubernetes/validation-pod.js';
import { VALIDATION_CHECKS } from '../../domain/validation-output.js';
import { windowsImagesFor } from '../../domain/windows-image.js';
import type { DoublesOf } from './day-two.js';

export const VALIDATION_DOUBLES: DoublesOf<ValidationActivities> = {
  runValidationPod: (i) => ({
    pod: validationPodName(i.owner?.binding ?? 'binding', i.run),
    namespace: i.namespace,
    node: `aks${i.pool.name}000000`,
    image: windowsImagesFor(i.pool.osSku, i.pool.name).serverCore,
    reused: false,
    checks: VALIDATION_CHECKS.map((c) => ({
      link: c.link,
      ok: true,
      detail:
        c.id === 'kerberos'
          ? `ticket for ${i.gmsaName}$ @ ${i.domainFqdn.toUpperCase()}`
          : `dc1.${i.domainFqdn} for ${i.namespace}/${i.serviceAccount} using ${i.specName}`,
    })),
  }),
};
