/** A VirtualService's destinations and rules, in the order Istio's analyzers walk them (virtualservice/util.go). */
import { list, type Props, record, text } from "../../../policies/lib/kube";

export interface RouteDestination {
  readonly rule: "http" | "tcp" | "tls" | "http.mirror" | "http.mirrors";
  readonly ruleIndex: number;
  readonly destIndex: number;
  readonly destination: Props;
  /** The route's weight for this destination (100 when it is the only one and unset). */
  readonly weight: number;
}

/** getRouteDestinations: TCP, then TLS, then HTTP routes. */
export function routeDestinations(spec: Props): RouteDestination[] {
  return (["tcp", "tls", "http"] as const).flatMap((rule) =>
    list(spec[rule]).flatMap((r, ruleIndex) => {
      const routes = list(record(r).route).map(record);
      return routes.map((rd, destIndex) => ({
        rule,
        ruleIndex,
        destIndex,
        destination: record(rd.destination),
        weight: typeof rd.weight === "number" ? rd.weight : routes.length === 1 ? 100 : 0,
      }));
    }),
  );
}

/** getHTTPMirrorDestinations: `mirror` and every `mirrors[].destination`. */
export function mirrorDestinations(spec: Props): RouteDestination[] {
  return list(spec.http).flatMap((r, ruleIndex) => {
    const route = record(r);
    const single = route.mirror === undefined ? [] : [record(route.mirror)];
    return [
      ...single.map((destination) => ({
        rule: "http.mirror" as const,
        ruleIndex,
        destIndex: 0,
        destination,
        weight: 0,
      })),
      ...list(route.mirrors).map((m, destIndex) => ({
        rule: "http.mirrors" as const,
        ruleIndex,
        destIndex,
        destination: record(record(m).destination),
        weight: 0,
      })),
    ];
  });
}

/** validation.go routeName: an HTTP route's quoted name, else `#n`. */
export const ruleName = (route: Props, index: number): string => {
  const name = text(route.name);
  return name ? JSON.stringify(name) : `#${index}`;
};

export const stringList = (value: unknown): string[] => list(value).filter((v): v is string => typeof v === "string");
