#!/bin/sh
# The namespace and the custom search attributes aks-gmsa uses (temporal/search-attributes.ts), once the server
# answers. Safe to run again.
set -eu
ns=${TEMPORAL_NAMESPACE:-default}
until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do sleep 2; done
temporal operator namespace describe -n "$ns" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 ||
  temporal operator namespace create -n "$ns" --retention 30d --address "$TEMPORAL_ADDRESS"
for attribute in GmsaCluster GmsaCredentialSpec GmsaDomainUser GmsaBinding GmsaPhase; do
  temporal operator search-attribute create -n "$ns" --name "$attribute" --type Keyword --address "$TEMPORAL_ADDRESS" ||
    echo "search attribute $attribute exists"
done
echo "namespace $ns ready"
