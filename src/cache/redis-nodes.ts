import { badPartOf, userinfoOf } from '../config/url.js';

/** One Redis server (a cluster seed, or a sentinel). */
export interface RedisNode {
  host: string;
  port: number;
}

/** The host standing in for a list of nodes while the rest of the URL is parsed. */
const PLACEHOLDER_HOST = 'nodes.invalid';

/**
 * Splits a URL whose host part is a comma-separated list of nodes (`redis-cluster://a:7000,b:7001/...`): the URL
 * with one placeholder host instead (so that the standard parser reads the rest), and the nodes, each with
 * `defaultPort` when it names none. IPv6 addresses go in brackets (`[::1]:7000`).
 * @throws {Error} naming the node that is not `host[:port]`.
 */
export function splitNodes(raw: string, defaultPort: number): { url: string; nodes: RedisNode[] } {
  const scheme = raw.indexOf('://');
  if (scheme < 0) return { url: raw, nodes: [] };
  const start = userinfoOf(raw) ? raw.lastIndexOf('@') + 1 : scheme + 3;
  const rest = raw.slice(start).search(/[/?#]/);
  const end = rest < 0 ? raw.length : start + rest;
  const list = raw.slice(start, end);
  const nodes = list === '' ? [] : list.split(',').map((node) => parseNode(node, defaultPort));
  return { url: `${raw.slice(0, start)}${PLACEHOLDER_HOST}${raw.slice(end)}`, nodes };
}

function parseNode(text: string, defaultPort: number): RedisNode {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
  if (!match || port < 1 || port > 65535) {
    const why = badPartOf(`redis://${text.trim()}`);
    throw new Error(
      `"${text}" is not a node${why ? `: ${why}` : ''}; expected host[:port] (IPv6 in brackets), comma-separated`,
    );
  }
  return { host: (match[1] ?? match[2])!, port };
}
