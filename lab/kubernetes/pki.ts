/**
 * The lab cluster's keys and certificates, made once with openssl: a CA, the API server's serving certificate for
 * 127.0.0.1, an admin client certificate in `system:masters` (so RBAC never limits the lab's own admin), and the
 * service-account signing key the API server requires.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface LabPki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

export function pkiPaths(dir: string): LabPki {
  const f = (name: string) => path.join(dir, name);
  return {
    dir,
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    serverCert: f('apiserver.crt'),
    serverKey: f('apiserver.key'),
    adminCert: f('admin.crt'),
    adminKey: f('admin.key'),
    serviceAccountKey: f('sa.key'),
    serviceAccountPub: f('sa.pub'),
  };
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
// P-256 keys: generated in milliseconds, accepted by the API server for TLS, client certs and token signing.
const newKey = (file: string) =>
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);

function signed(p: LabPki, key: string, cert: string, subject: string, extensions: string): void {
  newKey(key);
  const csr = `${cert}.csr`;
  const ext = `${cert}.ext`;
  writeFileSync(ext, extensions);
  openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  openssl(
    ['x509', '-req', '-in', csr, '-CA', p.caCert, '-CAkey', p.caKey, '-CAcreateserial', '-days', '3650'].concat([
      '-sha256',
      '-extfile',
      ext,
      '-out',
      cert,
    ]),
  );
}

/** Creates whatever is missing; existing files are kept so a running cluster's kubeconfig stays valid. */
export function ensurePki(dir: string): LabPki {
  const p = pkiPaths(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(p.caCert) || !existsSync(p.caKey)) {
    newKey(p.caKey);
    openssl(
      ['req', '-x509', '-new', '-key', p.caKey, '-subj', '/CN=gmsa-lab-kubernetes-ca', '-days', '3650'].concat(
        ['-sha256', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
        ['-out', p.caCert],
      ),
    );
  }
  if (!existsSync(p.serverCert)) {
    signed(
      p,
      p.serverKey,
      p.serverCert,
      '/CN=kube-apiserver',
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        // The in-cluster names too, so the same certificate serves if a component ever calls kubernetes.default.
        'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1',
        '',
      ].join('\n'),
    );
  }
  if (!existsSync(p.adminCert)) {
    signed(
      p,
      p.adminKey,
      p.adminCert,
      '/O=system:masters/CN=gmsa-lab-admin',
      ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth', ''].join('\n'),
    );
  }
  if (!existsSync(p.serviceAccountKey) || !existsSync(p.serviceAccountPub)) {
    newKey(p.serviceAccountKey);
    openssl(['pkey', '-in', p.serviceAccountKey, '-pubout', '-out', p.serviceAccountPub]);
  }
  return p;
}
