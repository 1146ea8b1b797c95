"""Build the device pack (``pack/``, git-ignored): what a GPU training run needs besides the repository.

    python scripts/make_device_pack.py [--shared ../shared/data] [--out pack] [--side 320] [--wheels .whl]

See ``skindeep.model.devicepack`` and docs/training.md ("The GPU run"). Fails when pack + repository
would exceed the 64 MiB the GPU machine accepts.
"""

from skindeep.model.devicepack import main

if __name__ == "__main__":
    main()
