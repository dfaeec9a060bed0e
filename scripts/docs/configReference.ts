/**
 * docs/configuration.md's key reference, written from config/reference.ts: the same records the
 * parsers take their key lists, fields and messages from.
 */
import * as YAML from "yaml";
import { configKey } from "../../config/readers";
import {
  CONFIG_REFERENCE,
  type ConfigArea,
  type ConfigKeyReference,
  type FieldReference,
} from "../../config/reference";
import { wrap } from "./wrap";

const AREA_TITLES: Readonly<Record<ConfigArea, string>> = {
  cluster: "Cluster and Istio release",
  profile: "Profile: lab or production",
  cell: "Data plane and routing API",
  revisions: "Revisions and upgrades",
  traffic: "Traffic",
  security: "Security",
  egress: "Egress",
  observability: "Observability",
};

/** Short values inline, longer ones as a YAML block (a table cell would not stay readable). */
function defaultLines(key: ConfigKeyReference): string[] {
  if (key.defaultText !== undefined) return [`- default: ${key.defaultText}`];
  const flow = new YAML.Document(key.defaultValue).toString({ collectionStyle: "flow" }).trim();
  if (flow.length <= 80) return [`- default: \`${flow}\``];
  return [
    "- default:",
    "",
    "  ```yaml",
    ...YAML.stringify(key.defaultValue)
      .trimEnd()
      .split("\n")
      .map((l) => `  ${l}`),
    "  ```",
    "",
  ];
}

function fieldLines(fields: Readonly<Record<string, FieldReference>>, indent: string): string[] {
  return Object.entries(fields).flatMap(([name, field]) => [
    ...wrap(`\`${name}\`: ${field.allowed}`, 110 - indent.length - 2).map(
      (line, i) => `${indent}${i === 0 ? "- " : "  "}${line}`,
    ),
    ...(field.fields ? fieldLines(field.fields, `${indent}  `) : []),
  ]);
}

const shellWord = (value: string) => (/^[\w.:/@~-]+$/.test(value) ? value : `'${value}'`);

/** The `pulumi config set` line for a key's example (with --path for a field inside it). */
export function exampleCommand(key: ConfigKeyReference): string {
  const { path, value } = key.example;
  const target = path === undefined || path === key.name ? configKey(key.name) : configKey(path);
  const flag = path === undefined || path === key.name ? "" : "--path ";
  return `pulumi config set ${flag}${shellWord(target)} ${shellWord(value)}`;
}

function keySection(key: ConfigKeyReference): string[] {
  return [
    `#### \`${configKey(key.name)}\``,
    "",
    ...wrap(key.does, 110),
    "",
    `- type: ${key.type}`,
    ...defaultLines(key),
    ...wrap(`allowed: ${key.allowed}`, 108).map((line, i) => (i === 0 ? `- ${line}` : `  ${line}`)),
    ...(key.only ? [`- read only with \`clusterMode: ${key.only}\`; set with the other mode, it is refused`] : []),
    ...(key.fields ? ["- fields:", ...fieldLines(key.fields, "  ")] : []),
    `- example: \`${exampleCommand(key)}\``,
    "",
  ];
}

export function configReferenceMarkdown(): string {
  const areas = [...new Set(CONFIG_REFERENCE.map((k) => k.area))];
  return areas
    .flatMap((area) => [
      `### ${AREA_TITLES[area]}`,
      "",
      ...CONFIG_REFERENCE.filter((k) => k.area === area).flatMap(keySection),
    ])
    .join("\n")
    .trimEnd();
}
