/* ASCII85 groups to bytes, in C: cc_perf_dagster.core.stream_check's Python loop, the same result.
 *
 * decode(body) -> bytes, or None where a group's value passes 2**32 - 1 (the caller then asks
 * pypdf's filter, which says what it makes of it). ``body`` holds only the digits "!" to "u"
 * (stream_check._common_body has taken the markers and whitespace away and checked that); a
 * short last group is read as if padded with "u", then cut, as the Python loop does.
 * test_stream_check decodes random bodies both ways and asks for the same bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

static PyObject *decode(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *digits = view.buf;
    Py_ssize_t length = view.len;
    Py_ssize_t padding = (5 - length % 5) % 5;
    Py_ssize_t groups = (length + padding) / 5;
    PyObject *out = PyBytes_FromStringAndSize(NULL, groups * 4);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    unsigned char *target = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t group = 0; group < groups; group++) {
        uint64_t value = 0;
        for (int k = 0; k < 5; k++) {
            Py_ssize_t at = group * 5 + k;
            unsigned digit = at < length ? digits[at] : 'u';
            if (digit < '!' || digit > 'u') { /* not a digit: the caller checks, this refuses */
                Py_DECREF(out);
                PyBuffer_Release(&view);
                Py_RETURN_NONE;
            }
            value = value * 85 + (digit - '!');
        }
        if (value > 0xFFFFFFFFu) {
            Py_DECREF(out);
            PyBuffer_Release(&view);
            Py_RETURN_NONE;
        }
        target[group * 4] = (unsigned char)(value >> 24);
        target[group * 4 + 1] = (unsigned char)(value >> 16);
        target[group * 4 + 2] = (unsigned char)(value >> 8);
        target[group * 4 + 3] = (unsigned char)value;
    }
    PyBuffer_Release(&view);
    if (padding && _PyBytes_Resize(&out, groups * 4 - padding) < 0)
        return NULL;
    return out;
}

static PyMethodDef methods[] = {
    {"decode", decode, METH_O, "ASCII85 digits (no markers, no whitespace) to bytes; None past 2**32 - 1."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ascii85", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ascii85(void) { return PyModule_Create(&module); }
