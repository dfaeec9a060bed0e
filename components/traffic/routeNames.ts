/**
 * The names of user-service's two ingress routes, the same in both routing APIs: the VirtualService's
 * `http[].name`, and the HTTPRoute's `rules[].name`, which istiod 1.30.3 keeps as the route's name when
 * it converts the HTTPRoute (pilot/pkg/config/kube/gateway/conversion.go, convertHTTPRoute). Envoy
 * gets that name either way, so ambient's ingress rate limit can select the routes by it in every cell.
 */
export const USER_SERVICE_ROUTES = { beta: "user-service-beta", canary: "user-service-canary" } as const;
