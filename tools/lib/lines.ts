/**
 * Whole lines out of a child's output. `onOutput` gets each `data` chunk of the CLI's stdout as it
 * arrives (pulumiProcess.ts), and a chunk may end in the middle of a line: a pattern tested per chunk
 * can miss a line cut in two.
 */
export class LineAssembler {
  private partial = "";

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const lines = (this.partial + chunk).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) this.onLine(line);
  }

  /** The last line, when the output ended without a newline. */
  flush(): void {
    if (this.partial !== "") this.onLine(this.partial);
    this.partial = "";
  }
}
