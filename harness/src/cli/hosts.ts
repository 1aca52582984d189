// npm run hosts -- check --hosts FILE.json5
import { Command } from 'commander';
import { checkHosts, describeHostCheck } from '../hosts/check.js';
import { loadInventory } from '../hosts/inventory.js';

const EXAMPLE = `{
  // mcr-gen sends on tx, mcr-sink counts on rx: one clock for one-way latency.
  tester: { ssh: "root@tester.lab", port: 22, key: "~/.ssh/mcr_lab", dir: "/opt/mcr", tx: "enp1s0f0", rx: "enp1s0f1" },
  // The contenders (mcrd, socat) forward from input to output.
  dut: { ssh: "root@dut.lab", key: "~/.ssh/mcr_lab", dir: "/opt/mcr", input: "enp2s0f0", output: "enp2s0f1" },
  between: "cable", // or "snooping-switch"
}`;

const program = new Command('hosts').description('Real hosts instead of namespaces: a tester (mcr-gen, mcr-sink) and a DUT (the contenders), reached over OpenSSH.');

program
  .command('check')
  .description('Check both hosts before a run: reachable over SSH (one multiplexed connection each, no prompts), root, the same commit of this project built in its dir, the tools its role runs (tester: mcr-gen, mcr-sink; DUT: node, the relay, socat) and the interfaces the inventory names; prints one PASS/FAIL line per check and what it found (kernel, NIC driver, speed, MTU).')
  .requiredOption('--hosts <file>', 'inventory (JSON5), e.g.:\n' + EXAMPLE)
  .option('--json', 'print the checks and the facts found as JSON')
  .addHelpText('after', '\nExit status: 0 every check passed, 1 a check failed, 2 the inventory could not be read.')
  .action(async (o: { hosts: string; json?: boolean }) => {
    let inventory;
    try {
      inventory = loadInventory(o.hosts);
    } catch (err) {
      console.error((err as Error).message);
      process.exit(2);
    }
    const report = await checkHosts(inventory);
    const failed = report.checks.filter((c) => !c.pass).length;
    const out = o.json ? JSON.stringify(report, null, 2) : [...report.checks.map(describeHostCheck), `hosts: ${failed ? 'FAIL' : 'PASS'} (${report.checks.length - failed}/${report.checks.length} checks)`].join('\n');
    process.stdout.write(out + '\n', () => process.exit(failed ? 1 : 0));
  });

program.parseAsync().catch((err: Error) => {
  console.error(`hosts: ${err.message}`);
  process.exit(2);
});
