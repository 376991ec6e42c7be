"""Pure core: no Django imports allowed here."""
