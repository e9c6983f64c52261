export async function demoCommand(_opts: { json?: boolean; verbose?: boolean }): Promise<number> {
  return 1;
}
