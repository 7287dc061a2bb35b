import type { AccountConfig } from '../engine/config/schema.ts';

export type Service = 'drs' | 'vias' | 'cpts' | 'iam';

/** Base URL of a service for an account: `endpoints.<service>`, else `endpoint`, else the public host. */
export function serviceBase(account: AccountConfig, service: Service): string {
  const configured = account.endpoints?.[service] ?? account.endpoint;
  if (configured) return configured.replace(/\/+$/, '');
  // The one region known to live under another domain (upstream-apis.md).
  const domain = account.region === 'eu-west-101' ? 'myhuaweicloud.eu' : 'myhuaweicloud.com';
  return `https://${service}.${account.region}.${domain}`;
}
