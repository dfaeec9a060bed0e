/** Indexes an AnalysisInput once, so each analyzer asks for kinds and objects without rescanning. */
import type { AnalysisContextView, AnalysisInput, LoadFacts, MeshFacts, Resource, Workload } from "./model";
import { workloadOf } from "./model";

export class AnalysisContext implements AnalysisContextView {
  readonly mesh: MeshFacts;
  readonly load: LoadFacts;
  private readonly byKind = new Map<string, Resource[]>();
  private readonly workloads: Workload[];

  constructor(input: AnalysisInput) {
    this.mesh = input.mesh;
    this.load = input.load;
    for (const r of input.resources) {
      const bucket = this.byKind.get(r.kind) ?? [];
      bucket.push(r);
      this.byKind.set(r.kind, bucket);
    }
    this.workloads = input.resources.flatMap((r) => workloadOf(r) ?? []);
  }

  all(kind: string): readonly Resource[] {
    return this.byKind.get(kind) ?? [];
  }

  find(kind: string, namespace: string | undefined, name: string): Resource | undefined {
    return this.all(kind).find((r) => r.name === name && r.namespace === namespace);
  }

  allWorkloads(): readonly Workload[] {
    return this.workloads;
  }

  runningWorkloads(): readonly Workload[] {
    return this.workloads.filter((w) => w.replicas > 0);
  }

  namespaceExists(name: string): boolean {
    return this.find("Namespace", undefined, name) !== undefined;
  }
}
