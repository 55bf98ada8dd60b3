"""The model servers, under the name this layer had before it served every engine: ``deploys/serving.py``."""

from pyinfra import local

local.include("./serving.py")
