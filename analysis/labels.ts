/** Kubernetes label selectors: matchLabels and matchExpressions, and istioctl's printed form of a selector. */
import { list, type Props, record, text } from "../policies/lib/kube";

export type Labels = Readonly<Record<string, string>>;

/** Every key/value of `selector` is in `labels` (an empty selector matches everything). */
export const matchesLabels = (selector: Labels, labels: Labels): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** A metav1.LabelSelector (matchLabels + matchExpressions); undefined matches everything. */
export function matchesSelector(selector: Props | undefined, labels: Labels): boolean {
  if (selector === undefined) return true;
  const byLabels = record(selector.matchLabels) as Labels;
  if (!matchesLabels(byLabels, labels)) return false;
  return list(selector.matchExpressions).every((e) => {
    const expr = record(e);
    const key = text(expr.key) ?? "";
    const values = list(expr.values).filter((v): v is string => typeof v === "string");
    const has = labels[key] !== undefined;
    switch (text(expr.operator)) {
      case "In":
        return has && values.includes(labels[key] ?? "");
      case "NotIn":
        return !has || !values.includes(labels[key] ?? "");
      case "Exists":
        return has;
      case "DoesNotExist":
        return !has;
      default:
        return false;
    }
  });
}

/** klabels.SelectorFromSet(...).String(): `key=value` pairs sorted by key, comma-separated. */
export const selectorString = (selector: Labels): string =>
  Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k]}`)
    .join(",");
