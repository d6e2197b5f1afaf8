"""Trace evidence under uneven light: a shadow across the page neither hides the trace nor turns paper into ink."""

import numpy as np

from ecgvision.digitize.trace import TraceEvidenceConfig, colour_trace_probability


def test_a_shadowed_page_reads_like_the_evenly_lit_one(examples):
    page = examples[0].image
    config = TraceEvidenceConfig()
    reference = colour_trace_probability(page, config) > 0.5
    shade = np.linspace(1.0, 0.45, page.shape[1], dtype=np.float32)[
        None, :, None
    ]  # light falls off to the right
    shadowed = (page.astype(np.float32) * shade).astype(np.uint8)
    found = colour_trace_probability(shadowed, config) > 0.5
    assert (found & reference).sum() >= 0.9 * reference.sum()  # the trace is kept in the shadow
    assert (found & ~reference).sum() <= 0.05 * reference.sum()  # and no paper or grid becomes ink
    # without the flattening the shadowed half reads as ink (the test can fail)
    unflattened = colour_trace_probability(shadowed, TraceEvidenceConfig(flatten_min_spread=0.0)) > 0.5
    assert (unflattened & ~reference).sum() > 0.05 * reference.sum()
