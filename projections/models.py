"""The current-cells read model, derived from the ledger."""

from django.db import models


class Cell(models.Model):
    """The value of one cell as of its sheet's head.

    A cleared cell keeps its row (value "") so that its last_seq still
    answers base_seq conflict checks; readers show non-empty cells only.
    """

    sheet = models.ForeignKey("sheets.Sheet", on_delete=models.CASCADE, related_name="cells")
    row = models.IntegerField()
    col = models.IntegerField()
    value = models.TextField(blank=True)
    last_seq = models.BigIntegerField()

    class Meta:
        ordering = ["sheet_id", "row", "col"]
        constraints = [models.UniqueConstraint(fields=["sheet", "row", "col"], name="projections_cell_unique")]

    def __str__(self) -> str:
        return f"{self.sheet_id}({self.row},{self.col})={self.value!r}"
