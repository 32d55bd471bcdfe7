"""The comparison grid: one column per image kind, titled whichever sample has that kind's image."""

import numpy as np

from evaluation.tables import html


def test_every_column_is_titled_even_when_the_first_sample_has_no_reference(tmp_path, monkeypatch):
    titles = []

    def keep_titles(fig, path):
        titles.extend(ax.get_title() for ax in fig.axes[:4])  # the first sample's full-image row
        fig.clf()
        path.write_bytes(b"")

    monkeypatch.setattr(html, "_save_fig", keep_titles)
    img = np.full((32, 48, 3), 40, np.uint8)
    samples = [dict(name="unmatched", input=img, gt=None, outputs={"gamma": img, "clahe": img}),
               dict(name="paired", input=img, gt=img, outputs={"gamma": img, "clahe": img})]
    html.image_grid(dict(dataset="d", samples=samples), tmp_path / "grid.png")
    assert titles == ["input", "reference", "gamma", "clahe"]
