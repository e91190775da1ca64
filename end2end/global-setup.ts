// `cargo leptos end-to-end` starts the tests as soon as it launches the server: wait
// until the server answers its health check.
export default async function globalSetup() {
  const base = process.env.VERDICT_E2E_URL ?? "http://127.0.0.1:3000";
  const deadline = Date.now() + 120_000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${base}/healthz`);
      if (response.ok) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Verdict did not become healthy at ${base}: ${last}`);
}
