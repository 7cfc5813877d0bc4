// An order of rows as the grid view reads it: length(), idAt(position),
// positionOf(id) (-1 when not shown), over a fixed array of ids. Each
// structure change hands the view a new one, so that it can still read the
// old order while it moves the selection and an open editor.

export function rowsOf(ids, index = null) {
  let byId = index;
  return {
    length: () => ids.length,
    idAt: (position) => ids[position] ?? null,
    positionOf: (id) => {
      if (byId === null) byId = new Map(ids.map((each, i) => [each, i]));
      return byId.get(id) ?? -1;
    },
  };
}
