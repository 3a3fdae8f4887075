/** Reads a child process's stream in the background, so a test can wait for a line and still get all of it. */
export class OutputReader {
  text = "";
  readonly done: Promise<string>;
  private waiters: Array<() => void> = [];

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.pump(stream);
  }

  /** Resolves once the output contains `text` (or matches it); rejects if the stream ends first. */
  async waitFor(text: string | RegExp): Promise<void> {
    let ended = false;
    this.done.then(() => {
      ended = true;
    });
    const found = () => (typeof text === "string" ? this.text.includes(text) : text.test(this.text));
    while (!found()) {
      if (ended) throw new Error(`output ended before "${text}":\n${this.text}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
      });
    }
  }

  /** Resolves when more output arrives or the stream ends. */
  changed(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiters.push(resolve);
    });
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<string> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        this.text += decoder.decode(chunk, { stream: true });
        this.wake();
      }
    } finally {
      this.wake();
    }
    return this.text;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
