"""A small Django project serving Tecken's and Eliot's APIs through ``tecken_core``."""
