/**
 * The lab's own certificate authority and a loopback server certificate, made once with openssl. The Azure SDK
 * refuses bearer tokens over plain HTTP, so the fake speaks TLS and clients trust this CA (NODE_EXTRA_CA_CERTS or
 * AZURE_CA_FILE).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface LabCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export function ensureCertificates(dir: string): LabCertificates {
  mkdirSync(dir, { recursive: true });
  const files = {
    caFile: path.join(dir, 'ca.pem'),
    certFile: path.join(dir, 'server.pem'),
    keyFile: path.join(dir, 'server-key.pem'),
  };
  if (existsSync(files.caFile) && existsSync(files.certFile) && existsSync(files.keyFile)) return files;
  const caKey = path.join(dir, 'ca-key.pem');
  const csr = path.join(dir, 'server.csr');
  const ext = path.join(dir, 'server.ext');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    files.caFile,
    '-days',
    '3650',
    '-subj',
    '/CN=aks-gmsa lab CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.keyFile, '-out', csr, '-subj', '/CN=127.0.0.1');
  // Every loopback name a client might use: the ARM endpoint, the token endpoint and each vault's listener.
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    files.caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    files.certFile,
    '-days',
    '825',
    '-extfile',
    ext,
  );
  return files;
}
