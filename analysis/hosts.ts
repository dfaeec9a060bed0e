/** Istio's host names (pkg/config/host): wildcard overlap, and a Gateway server's `namespace/host` form. */

/** host.Name.Matches: equal, or one wildcard covers the other (`*` covers everything). */
export function hostsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const aWild = a.startsWith("*");
  const bWild = b.startsWith("*");
  if (aWild && bWild) {
    const as = a.slice(1);
    const bs = b.slice(1);
    return as.length > bs.length ? as.endsWith(bs) : bs.endsWith(as);
  }
  if (aWild) return b.endsWith(a.slice(1));
  if (bWild) return a.endsWith(b.slice(1));
  return false;
}

/**
 * Gateway server hosts as the VirtualServices of `vsNamespace` see them (gateways.go
 * sanitizeServerHostNamespace, then host.NamesForNamespace): `./h` is the Gateway's namespace,
 * `*\/h` any namespace, a bare host any namespace; a host for another namespace is dropped.
 */
export function gatewayHostsFor(
  serverHosts: readonly string[],
  gatewayNamespace: string,
  vsNamespace: string,
): string[] {
  const out: string[] = [];
  for (const h of serverHosts) {
    const slash = h.indexOf("/");
    if (slash < 0) {
      out.push(h);
      continue;
    }
    const ns = h.slice(0, slash);
    const name = h.slice(slash + 1);
    const owner = ns === "." ? gatewayNamespace : ns;
    if (owner === "*" || owner === vsNamespace) out.push(name);
  }
  return out;
}

/** resource.NewShortOrFullName: `ns/name` as written, a short name in the referrer's namespace. */
export function shortOrFullName(defaultNamespace: string, ref: string): { namespace: string; name: string } {
  const slash = ref.indexOf("/");
  return slash < 0
    ? { namespace: defaultNamespace, name: ref }
    : { namespace: ref.slice(0, slash), name: ref.slice(slash + 1) };
}
