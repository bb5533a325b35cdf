"""What the pipeline's preprocessors write into the autograded notebook, for the records to read."""

INTEGRITY_ERROR = "GpukitIntegrityError"  # the ename VerifyCheckOutcomes gives its errors
CELL_METADATA = "gpukit"  # a code cell's run, noted by LimitedExecute: seconds, stopped
NOTEBOOK_METADATA = "gpukit"  # what the rebuild and the scan did (preprocessors.py)
