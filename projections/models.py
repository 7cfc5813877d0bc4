"""The current-cells read model, derived from the ledger."""

from django.db import models


class Cell(models.Model):
    """The value of one cell as of its sheet's head.

    A cleared cell keeps its row (value "") so that its last_seq still
    answers base_seq conflict checks; readers show non-empty cells only.
    """

    # Served by the unique (stream, row, col) index; a second one would only slow every upsert.
    stream = models.ForeignKey("ledger.Stream", on_delete=models.CASCADE, related_name="cells", db_index=False)
    row = models.IntegerField()
    col = models.IntegerField()
    value = models.TextField(blank=True)
    last_seq = models.BigIntegerField()

    class Meta:
        ordering = ["stream_id", "row", "col"]
        constraints = [models.UniqueConstraint(fields=["stream", "row", "col"], name="projections_cell_unique")]

    def __str__(self) -> str:
        return f"{self.stream_id}({self.row},{self.col})={self.value!r}"


class ProjectionSnapshot(models.Model):
    """The sheet's non-empty cells right after event ``seq``: derived data, rebuilt by rebuild_projections.

    The cells are one JSON list of ``[row, col, value, last_seq]`` rather
    than a child table: a snapshot is only ever written whole and read whole
    (time travel folds forward from it), never queried by cell, so one row
    costs one read, where a child table would cost a row, an index entry and
    a per-row header for every cell of every snapshot.
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
