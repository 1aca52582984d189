// node probe.js GROUP SOURCE_ADDR COUNT: sends COUNT small UDP datagrams to GROUP:9 out of the
// interface that holds SOURCE_ADDR (run inside a namespace with `ip netns exec`). Used to see
// whether a snooping bridge still floods a group nobody joined.
import dgram from 'node:dgram';

const [group, source, countText] = process.argv.slice(2);
const count = Number(countText);
if (!group || !source || !Number.isInteger(count) || count < 1) {
  console.error('usage: probe.js GROUP SOURCE_ADDR COUNT');
  process.exit(2);
}
const socket = dgram.createSocket('udp4');
socket.bind(0, source, () => {
  socket.setMulticastInterface(source);
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
