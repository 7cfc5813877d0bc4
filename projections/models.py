"""The read models derived from the ledger: current cells, the order of rows and columns, time-travel snapshots."""

from django.db import models


class Cell(models.Model):
    """The value of one cell, by its row's and column's ids, as of its sheet's head.

    A cleared cell keeps its row (value "") so that its last_seq still
    answers base_seq conflict checks; readers show non-empty cells only. A
    deleted row or column takes its cells with it. Positions are not stored:
    they change with every insert above, and the order (``Order``) gives them.
    """

    # Served by the unique (stream, row_id, col_id) index; a second one would only slow every upsert.
    stream = models.ForeignKey("ledger.Stream", on_delete=models.CASCADE, related_name="cells", db_index=False)
    row_id = models.CharField(max_length=36)
    col_id = models.CharField(max_length=36)
    value = models.TextField(blank=True)
    last_seq = models.BigIntegerField()

    class Meta:
        ordering = ["stream_id", "row_id", "col_id"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "row_id", "col_id"], name="projections_cell_unique_id"),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id}({self.row_id},{self.col_id})={self.value!r}"


class Order(models.Model):
    """The order of a stream's rows (axis "r") or columns ("c"), tombstones included, as of event ``seq``.

    ``runs`` is projections.axis.Axis in its stored form (projections.axis.
    encode_runs): stretches of implicit ids and lists of inserted ones, so
    that a million-row sheet is a few runs, not a million rows. A stream
    without a row here has the rows (columns) it was created with and no
    structure event yet. ``count`` is how many are live. Readers cache a
    decoded order by (pk, seq, hash): rows are replaced, never updated in
    place, except by the next structure event, which moves seq and hash.
    """

    stream = models.ForeignKey("ledger.Stream", on_delete=models.CASCADE, related_name="orders", db_index=False)
    axis = models.CharField(max_length=1)
    seq = models.BigIntegerField()
    # The hash of event ``seq``: it names the whole history the order is the fold of.
    hash = models.CharField(max_length=64)
    count = models.PositiveIntegerField()
    runs = models.JSONField()

    class Meta:
        ordering = ["stream_id", "axis"]
        constraints = [models.UniqueConstraint(fields=["stream", "axis"], name="projections_order_unique")]

    def __str__(self) -> str:
        return f"{self.stream_id}:{self.axis}@{self.seq}"


class ProjectionSnapshot(models.Model):
    """The sheet right after event ``seq``: derived data, rebuilt by rebuild_projections.

    ``cells`` holds the whole state as one JSON document (projections.
    snapshots.encode): the order of rows and of columns, and the non-empty
    cells as ``[row_id, col_id, value, last_seq]``. One document rather than
    child tables: a snapshot is only ever written whole and read whole
    (time travel folds forward from it), never queried by cell.
    """

    stream = models.ForeignKey("ledger.Stream", on_delete=models.CASCADE, related_name="snapshots")
    seq = models.BigIntegerField()
    cells = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["stream_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="projections_snapshot_unique")]

    def __str__(self) -> str:
        return f"{self.stream_id}@{self.seq}"
