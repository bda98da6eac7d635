// @ts-check
/**
 * ESLint rule `layers/rooms`: the dependency rules of docs/design.md ("Rooms") as zones. Each file under
 * `root` (src/) belongs to a room: its first folder (`src/rotator/...` → `rotator`) or, at the top, its file
 * name (`main.ts`). A relative import may reach its own room and the rooms listed for it; an entry
 * `room/file.ts` allows that one file of a room. A package import is checked against `packages`, which names
 * the only rooms that may import each listed package. Files of a room that the table does not know are
 * reported too, so a new folder has to be placed on the map. The rule reads paths only, so it needs no
 * resolver: every import in src/ is relative (`../core/names.js`) or a package name.
 */
import path from 'node:path';

/** @param {string} relative a path relative to root, with forward slashes */
function roomOf(relative) {
  return relative.split('/')[0] ?? relative;
}

/** @param {string} specifier */
function packageOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** @type {import('eslint').Rule.RuleModule} */
const rooms = {
  meta: {
    type: 'problem',
    docs: { description: 'Keep imports between the rooms of src/ to the ones docs/design.md allows.' },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string' },
          rooms: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
          packages: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
        },
        required: ['root', 'rooms'],
        additionalProperties: false,
      },
    ],
    messages: {
      room: 'src/{{from}} may not import src/{{to}} ({{specifier}}): {{from}} may import {{allowed}}. See docs/design.md, "Rooms".',
      package:
        'src/{{from}} may not import {{pkg}}: only {{owners}} may. Reach it through that room (docs/design.md, "Rooms").',
      unknown:
        'src/{{from}} is not a room of docs/design.md; add it to the rooms table in eslint.config.js and the doc.',
    },
  },
  create(context) {
    const options =
      /** @type {{ root: string; rooms: Record<string, string[]>; packages?: Record<string, string[]> }} */ (
        context.options[0]
      );
    const relativeFile = path.relative(options.root, context.filename).split(path.sep).join('/');
    if (relativeFile.startsWith('..') || path.isAbsolute(relativeFile)) return {};
    const from = roomOf(relativeFile);
    const allowed = options.rooms[from];

    /** @param {import('estree').Node} node @param {unknown} source */
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      if (allowed === undefined) {
        context.report({ node, messageId: 'unknown', data: { from } });
        return;
      }
      if (source.startsWith('.')) {
        const target = path
          .relative(options.root, path.resolve(path.dirname(context.filename), source))
          .split(path.sep)
          .join('/')
          .replace(/\.js$/, '.ts');
        if (target.startsWith('..')) return;
        const to = roomOf(target);
        if (to === from || allowed.includes('*') || allowed.includes(to) || allowed.includes(target)) return;
        context.report({
          node,
          messageId: 'room',
          data: {
            from,
            to: target,
            specifier: source,
            allowed: allowed.length === 0 ? 'nothing else' : allowed.join(', '),
          },
        });
        return;
      }
      const pkg = packageOf(source);
      const owners = options.packages?.[pkg];
      if (owners !== undefined && !owners.includes(from)) {
        context.report({ node, messageId: 'package', data: { from, pkg, owners: owners.join(', ') } });
      }
    };

    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => check(node, node.source?.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => {
        if (node.source.type === 'Literal') check(node, node.source.value);
      },
    };
  },
};

export default { rules: { rooms } };
