// node kernel-probe.js IF: run inside a namespace by `npm run setup`. Opens the relay's ingress on
// IF twice in one PACKET_FANOUT group (AF_PACKET sockets, a kernel-assigned fanout id), as two
// workers do; prints the group id, or the kernel's error and exit 1.
import { loadAddon } from '../../relay/src/api.js';

const ifname = process.argv[2];
if (!ifname) {
  console.error('usage: kernel-probe.js INTERFACE');
  process.exit(2);
}
try {
  const addon = loadAddon();
  const first = new addon.Forwarder({ interface: ifname, fanout: 'hash', fanoutId: -1 });
  const fanoutId = first.join();
  const second = new addon.Forwarder({ interface: ifname, fanout: 'hash', fanoutId });
  second.join();
  console.log(JSON.stringify({ fanoutId }));
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
