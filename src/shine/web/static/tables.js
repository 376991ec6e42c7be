// On a phone every table stacks (shine.css, table.grid.stack: one card per row, each cell with its column's
// name). A template that names its cells (data-label) is left as it is; for the others the names are read
// from the table's header row here, so no page has a column beyond the screen's edge.
document.querySelectorAll("main table:not(.stack)").forEach((table) => {
  const head = table.tHead ? table.tHead.rows[0] : null;
  if (!head) return;
  const names = [];
  for (const th of head.cells) for (let k = 0; k < (th.colSpan || 1); k++) names.push(th.textContent.trim());
  for (const body of table.tBodies) {
    for (const row of body.rows) {
      let column = 0;
      if (row.cells.length === 1 && row.cells[0].colSpan > 1) continue;  // "Nothing yet.": a message, no column
      for (const cell of row.cells) {
        if (!cell.hasAttribute("data-label") && names[column]) cell.setAttribute("data-label", names[column]);
        column += cell.colSpan || 1;
      }
    }
  }
  table.classList.add("grid", "stack");
});
