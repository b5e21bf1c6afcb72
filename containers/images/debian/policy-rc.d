#!/bin/sh
# Like the Debian images: packages installed in an image start no services.
exit 101
