// Summing families from mcrd's Prometheus text: labels (with spaces and braces in values) skipped,
// comments and other families ignored, a missing family 0.
import { describe, expect, it } from 'vitest';
import { sumFamilies } from '../../harness/src/prometheus-text.js';

const TEXT = `# HELP mcr_worker_sent_datagrams_total Datagrams sent on outputs.
# TYPE mcr_worker_sent_datagrams_total counter
mcr_worker_sent_datagrams_total{interface="eth0",worker="0"} 1000
mcr_worker_sent_datagrams_total{interface="eth0",worker="1"} 250
mcr_worker_sent_datagrams_total_extra{interface="eth0"} 7
mcr_rule_packets_total{rule_name="a b} c",worker="0"} 3 1700000000000
mcr_igmp_leaves_total 4
`;

describe('sumFamilies', () => {
  it('sums each family over its labels and nothing else', () => {
    expect(sumFamilies(TEXT, { sent: 'mcr_worker_sent_datagrams_total', rule: 'mcr_rule_packets_total', leaves: 'mcr_igmp_leaves_total', absent: 'mcr_nothing_total' })).toEqual({ sent: 1250, rule: 3, leaves: 4, absent: 0 });
  });
});
