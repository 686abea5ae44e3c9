/**
 * The password for `warden user create` (and the new secret for `warden secret rotate`): never
 * from the command line (it would show in `ps` and in the shell's history), but from standard
 * input when it is piped, or typed twice at a prompt that does not echo when standard input is
 * a terminal.
 */
export async function readPassword(input: NodeJS.ReadStream = process.stdin, what = "password"): Promise<string> {
  if (!input.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of input) chunks.push(Buffer.from(chunk as Buffer));
    // One trailing newline is the end of the line `echo` or a heredoc added, not part of the password.
    return Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
  }
  const first = await prompt(input, `${what[0]!.toUpperCase()}${what.slice(1)}: `);
  const second = await prompt(input, `Repeat the ${what}: `);
  if (first !== second) throw new PasswordInputError(`the two ${what}s differ`);
  return first;
}

export class PasswordInputError extends Error {}

/** Reads one line from the terminal with echo off (raw mode), backspace and Ctrl-C handled. */
function prompt(input: NodeJS.ReadStream, question: string): Promise<string> {
  process.stderr.write(question);
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = "";
    const done = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off("data", onData);
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (data: Buffer) => {
      for (const char of data.toString("utf8")) {
        if (char === "\r" || char === "\n") return done();
        if (char === "\u0003") return done(new PasswordInputError("cancelled"));
        if (char === "\u007f" || char === "\b") typed = [...typed].slice(0, -1).join("");
        else typed += char;
      }
    };
    input.on("data", onData);
  });
}
