/**
 * The Windows container image for an AKS Windows pool's OS SKU. A process-isolated Windows container must run the
 * host's Windows release (Microsoft's version-compatibility matrix), so the image follows the pool's `osSKU`:
 * Windows2022 → ltsc2022, Windows2025 → ltsc2025. Windows Server 2019 is out of support on AKS (no new pools since
 * March 2025, retired with Kubernetes 1.33): refused, naming the move. Pure: callers turn the refusal into their
 * own failure.
 */

/** Images of one Windows release: Server Core (the validation pod), and IIS on it (the sample workload). */
export interface WindowsImages {
  release: 'ltsc2022' | 'ltsc2025';
  serverCore: string;
  iis: string;
}

const RELEASES: Record<string, WindowsImages['release']> = { windows2022: 'ltsc2022', windows2025: 'ltsc2025' };

/** Why a pool's OS SKU has no image: the message says what to change. */
export class UnsupportedWindowsSku extends Error {
  override name = 'UnsupportedWindowsSku';
}

/** The images for `osSku` (AKS spells it `Windows2022`); throws UnsupportedWindowsSku for any other. */
export function windowsImagesFor(osSku: string | undefined, pool: string): WindowsImages {
  const sku = (osSku ?? '').trim();
  const release = RELEASES[sku.toLowerCase()];
  if (release) {
    return {
      release,
      serverCore: `mcr.microsoft.com/windows/servercore:${release}`,
      iis: `mcr.microsoft.com/windows/servercore/iis:windowsservercore-${release}`,
    };
  }
  if (sku.toLowerCase() === 'windows2019') {
    throw new UnsupportedWindowsSku(
      `node pool ${pool} runs Windows2019, which is out of support on AKS: no image is chosen for it. Add a ` +
        `Windows2022 or Windows2025 pool (az aks nodepool add --os-sku Windows2022) and move the workloads there`,
    );
  }
  throw new UnsupportedWindowsSku(
    sku
      ? `node pool ${pool} has OS SKU "${sku}", which is not a Windows SKU this product knows (Windows2022, ` +
          `Windows2025): name a Windows pool in cluster.windowsNodePools`
      : `node pool ${pool} reports no OS SKU, so its Windows release (and the image) is unknown: name a Windows ` +
          `pool with osSKU Windows2022 or Windows2025 in cluster.windowsNodePools`,
  );
}
