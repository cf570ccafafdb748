/**
 * Custom search attributes: the Temporal UI and the API's list filter find runs by cluster and spec. Defined once
 * here; the lab's dev server registers them from this list (docker-compose.yml spells the same flags).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { PHASE_ATTRIBUTE } from '../contract/phase-attribute.js';

export const SEARCH_ATTRIBUTES = {
  cluster: defineSearchAttributeKey('GmsaCluster', SearchAttributeType.KEYWORD),
  spec: defineSearchAttributeKey('GmsaCredentialSpec', SearchAttributeType.KEYWORD),
  /** `<standard user>@<domain fqdn>`, lowercased: the bindings that share a user (password rotation). */
  domainUser: defineSearchAttributeKey('GmsaDomainUser', SearchAttributeType.KEYWORD),
  /** The provisioning id a day-2 operation acts for (the operations list's filter). */
  binding: defineSearchAttributeKey('GmsaBinding', SearchAttributeType.KEYWORD),
  /** The run's phase as its progress names it (e.g. `waiting for approval`), kept current by the workflow: a list column. */
  phase: PHASE_ATTRIBUTE,
};

/**
 * The GmsaDomainUser value of a request's standard user, as a user principal name: a backslash (`DOMAIN\user`)
 * cannot be matched by `=` in a list filter on the dev server's SQL visibility.
 */
export const domainUserKey = (domainFqdn: string, user: string): string => `${user}@${domainFqdn}`.toLowerCase();

/** `temporal server start-dev` flags that register them. */
export const SEARCH_ATTRIBUTE_FLAGS = Object.values(SEARCH_ATTRIBUTES).flatMap((k) => [
  '--search-attribute',
  `${k.name}=Keyword`,
]);
