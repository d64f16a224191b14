/** The deepest nesting of arrays and objects accepted in a property value from outside. */
export const MAX_NESTING_DEPTH = 64;

/** An array or object being walked: its members still to see, and the height of those seen. */
interface Frame {
  readonly node: object;
  readonly members: readonly unknown[];
  next: number;
  height: number;
}

/**
 * Whether the value nests arrays and objects more than `maxDepth` deep (a scalar is 0 deep, `[]` 1, `[[]]` 2), or
 * holds itself. Walked with a stack of its own, at most `maxDepth` frames, each array or object once however often
 * it is shared: the work is linear in the value's size, whatever its shape. `membersOf` reads an array's or
 * object's members (its own enumerable values by default).
 */
export function isNestedDeeperThan(
  value: unknown,
  maxDepth: number,
  membersOf: (node: object) => readonly unknown[] = Object.values,
): boolean {
  if (!isContainer(value)) return false;
  /** The height of each array or object walked to its end. */
  const heights = new Map<object, number>();
  const path: Frame[] = [];
  const onPath = new Set<object>();
  /** Enters a container met on the path: `true` when that makes the value too deep. */
  const enter = (node: object): boolean => {
    if (onPath.has(node) || path.length >= maxDepth) return true;
    path.push({ node, members: membersOf(node), next: 0, height: 0 });
    onPath.add(node);
    return false;
  };
  if (enter(value)) return true;
  while (path.length > 0) {
    const frame = path[path.length - 1]!;
    if (frame.next < frame.members.length) {
      const member = frame.members[frame.next++];
      if (!isContainer(member)) continue;
      const known = heights.get(member);
      if (known === undefined) {
        if (enter(member)) return true;
      } else {
        if (path.length + known > maxDepth) return true;
        frame.height = Math.max(frame.height, known);
      }
      continue;
    }
    path.pop();
    onPath.delete(frame.node);
    const height = frame.height + 1;
    heights.set(frame.node, height);
    const parent = path[path.length - 1];
    if (parent) parent.height = Math.max(parent.height, height);
  }
  return false;
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
