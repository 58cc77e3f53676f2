"""Development tools of the AI, never shipped with it: the synthetic brain MR generator
(``synthetic``: phantoms, their DICOM, the demo study) and the training and evaluation of the
shipped model (``training``). Used by the tests, ``make demo`` and the benchmarks; production
inference (``neuronova_inference``) never imports this package
(tests/unit/inference/test_layering.py) and the images do not contain it.
"""
