"""The version of backprop, in one place: the package, the model files and
the exporters read it from here (a leaf module, importable while the
package itself is still initialising)."""
__version__ = "0.1.0"
