// node probe.js GROUP SOURCE_ADDR COUNT [IFNAME]: sends COUNT small UDP datagrams to GROUP:9 from
// SOURCE_ADDR (run inside a namespace with `ip netns exec`); an IPv6 GROUP goes out of IFNAME,
// named explicitly since every IPv6 interface has its own ff00::/8 route. Used to see whether a
// snooping bridge still floods a group nobody joined.
import dgram from 'node:dgram';

const [group, source, countText, ifname] = process.argv.slice(2);
const count = Number(countText);
const v6 = group?.includes(':');
if (!group || !source || !Number.isInteger(count) || count < 1 || (v6 && !ifname)) {
  console.error('usage: probe.js GROUP SOURCE_ADDR COUNT [IFNAME] (IFNAME required for an IPv6 group)');
  process.exit(2);
}
const socket = dgram.createSocket(v6 ? 'udp6' : 'udp4');
socket.bind(0, source, () => {
  socket.setMulticastInterface(v6 ? `::%${ifname}` : source);
  socket.setMulticastLoopback(false);
  let left = count;
  const next = () => {
    if (left-- === 0) return socket.close();
    socket.send(Buffer.from('mcr-probe'), 9, group, (err) => {
      if (err) {
        console.error(`probe to ${group}: ${err.message}`);
        process.exit(1);
      }
      next();
    });
  };
  next();
});
