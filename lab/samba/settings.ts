/** Names, paths and ports of the lab domain controller; everything lives under `.lab/samba/`. */
import { labPath } from '../paths.js';

export const REALM = 'LAB.EXAMPLE.TEST';
export const NETBIOS_DOMAIN = 'LAB';
export const DC_NAME = 'dc1';
export const DNS_DOMAIN = REALM.toLowerCase();
export const DC_FQDN = `${DC_NAME}.${DNS_DOMAIN}`;
/** Samba's LDAP ports are fixed (389/636/3268/3269), the KDC's too: one lab per network namespace. */
export const PORTS = [389, 636, 3268, 3269, 88, 464] as const;
export const LDAPS_PORT = 636;
export const HOST = '127.0.0.1';

export const sambaPaths = () => {
  const dir = labPath('samba');
  return {
    dir,
    conf: `${dir}/etc/smb.conf`,
    emptyBaseConf: `${dir}/.empty-base.conf`,
    runDir: `${dir}/run`,
    logDir: `${dir}/log`,
    logFile: `${dir}/log/samba.out`,
    provisionLog: `${dir}/log/provision.log`,
    /** Written by startDaemon; samba writes its own pid file into runDir. */
    pidFile: `${dir}/lab-samba.pid`,
    samLdb: `${dir}/private/sam.ldb`,
    caFile: `${dir}/private/tls/ca.pem`,
    adminPasswordFile: `${dir}/admin-password`,
    /** Present once provisioning finished; the marker says the directory is ours to wipe. */
    provisioned: `${dir}/.provisioned`,
    marker: `${dir}/.samba-lab`,
  };
};
