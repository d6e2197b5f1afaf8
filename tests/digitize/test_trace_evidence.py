"""Trace evidence under uneven light: a shadow across the page neither hides the trace nor turns paper into ink."""

import numpy as np

from ecgvision.digitize.trace import TraceEvidenceConfig, colour_trace_probability, lifted_to_the_model


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


def test_faint_colour_evidence_is_lifted_to_the_trace_the_model_is_sure_of():
    """Fold-9 photo 8 (a dim photo from afar): the colour evidence reads ~0.5 at its 90th percentile
    on the model's sure trace, under the rows' ink threshold (no row found); lifted, it reads 5.2 dB."""
    config = TraceEvidenceConfig()
    learned = np.zeros((40, 100), np.float32)
    learned[18:22] = 0.9
    faint = np.where(learned > 0.5, 0.45, 0.05).astype(np.float32)
    lifted = lifted_to_the_model(faint, learned, config)
    assert np.isclose(np.percentile(lifted[learned > 0.5], 90), config.learned_evidence_p90)
    assert lifted.max() <= 1.0 and np.all(lifted >= faint)
    # a page whose trace already reads dark on the sure region is left as it is
    dark = np.where(learned > 0.5, 0.95, 0.05).astype(np.float32)
    assert lifted_to_the_model(dark, learned, config) is dark
