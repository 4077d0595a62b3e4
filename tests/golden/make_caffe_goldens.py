#!/usr/bin/python3
"""Caffe test files for lib/caffe.c, made with Debian's python3-protobuf and protoc (run once,
commit the output; tests/unit/test_caffe.c reads only the committed files).

It writes tests/data/caffe/caffe.proto, the messages of Caffe's caffe.proto these files use
with Caffe's field numbers (../shared/FORMATS.md), compiles it with protoc into a temporary
directory, and writes into tests/data/caffe/, for a reduced-width VGG-like deploy net
(input 3x16x16; conv1_1 conv3-4, relu, pool; conv2_1 conv3-8, relu, pool; fc6 FC-16, relu,
dropout; fc7 FC-10; prob):
  net.prototxt            the net in Caffe's text form, for OpenCV
  v2.caffemodel           `layer` (field 100), string types, BlobShape dims, packed floats
  v1.caffemodel           `layers` (field 2), enum types, legacy num/channels/height/width
                          dims with FC weights 1x1xMxN and biases 1x1x1xN, as the Oxford
                          VGG files have them
  double.caffemodel       v2 with double_data, each value a hair off its float32
  unpacked.caffemodel     v2 with floats and dims unpacked, one field per value
  deep.caffemodel         v2 with an unknown field nesting 1000 messages deep in conv1_1,
                          which a reader must skip without descending
  expected.txt            NAME DIMS per tensor, in file order
  expected.npy            the tensors' values as an .npy stream in the same order
  bad-*.caffemodel        hostile files, tiny, each with one fault (see hostile() below)
  input.npy               a 1x3x16x16 input, fed to the net as it is (no mean, no scaling)
When python3-opencv is installed, each good file is read with cv2.dnn.readNetFromCaffe and
run on input.npy; its outputs, checked against a numpy forward pass, are saved as
opencv.fc7.npy (logits) and opencv.prob.npy, both 1x10, for an end-to-end test of
vgg-convert.  OpenCV 4.6 reads every good file but double.caffemodel: its importer takes no
double_data.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from google.protobuf import text_format

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "caffe")
SIZE = 16

PROTO = """\
// caffe.proto: the part of Caffe's caffe.proto that the test files use, with Caffe's field
// numbers; written by tests/golden/make_caffe_goldens.py.
syntax = "proto2";
package caffe;

message BlobShape {
  repeated int64 dim = 1 [packed = true];
}

message BlobProto {
  optional BlobShape shape = 7;
  repeated float data = 5 [packed = true];
  repeated float diff = 6 [packed = true];
  repeated double double_data = 8 [packed = true];
  optional int32 num = 1 [default = 0];
  optional int32 channels = 2 [default = 0];
  optional int32 height = 3 [default = 0];
  optional int32 width = 4 [default = 0];
}

message NetParameter {
  optional string name = 1;
  repeated string input = 3;
  repeated BlobShape input_shape = 8;
  repeated int32 input_dim = 4;
  repeated LayerParameter layer = 100;
  repeated V1LayerParameter layers = 2;
}

message LayerParameter {
  optional string name = 1;
  optional string type = 2;
  repeated string bottom = 3;
  repeated string top = 4;
  repeated BlobProto blobs = 7;
  optional ConvolutionParameter convolution_param = 106;
  optional DropoutParameter dropout_param = 108;
  optional InnerProductParameter inner_product_param = 117;
  optional PoolingParameter pooling_param = 121;
}

message V1LayerParameter {
  repeated string bottom = 2;
  repeated string top = 3;
  optional string name = 4;
  enum LayerType {
    CONVOLUTION = 4;
    DATA = 5;
    DROPOUT = 6;
    INNER_PRODUCT = 14;
    LRN = 15;
    POOLING = 17;
    RELU = 18;
    SOFTMAX = 20;
  }
  optional LayerType type = 5;
  repeated BlobProto blobs = 6;
  optional ConvolutionParameter convolution_param = 10;
  optional DropoutParameter dropout_param = 12;
  optional InnerProductParameter inner_product_param = 17;
  optional PoolingParameter pooling_param = 19;
}

message ConvolutionParameter {
  optional uint32 num_output = 1;
  optional bool bias_term = 2 [default = true];
  repeated uint32 pad = 3;
  repeated uint32 kernel_size = 4;
  repeated uint32 stride = 6;
}

message PoolingParameter {
  enum PoolMethod {
    MAX = 0;
    AVE = 1;
  }
  optional PoolMethod pool = 1 [default = MAX];
  optional uint32 kernel_size = 2;
  optional uint32 stride = 3 [default = 1];
  optional uint32 pad = 4 [default = 0];
}

message InnerProductParameter {
  optional uint32 num_output = 1;
  optional bool bias_term = 2 [default = true];
  optional bool transpose = 6 [default = false];
}

message DropoutParameter {
  optional float dropout_ratio = 1 [default = 0.5];
}
"""

# (name, type, parameters), in order: a deploy net, as Caffe's VGG files are.
NET = [
    ("conv1_1", "Convolution", {"num_output": 4}),
    ("relu1_1", "ReLU", None),
    ("pool1", "Pooling", None),
    ("conv2_1", "Convolution", {"num_output": 8}),
    ("relu2_1", "ReLU", None),
    ("pool2", "Pooling", None),
    ("fc6", "InnerProduct", {"num_output": 16}),
    ("relu6", "ReLU", None),
    ("drop6", "Dropout", None),
    ("fc7", "InnerProduct", {"num_output": 10}),
    ("prob", "Softmax", None),
]
V1_TYPES = {"Convolution": 4, "Dropout": 6, "InnerProduct": 14, "Pooling": 17, "ReLU": 18,
            "Softmax": 20}


def compile_proto(tmp):
    """caffe_pb2, and caffe_unpacked_pb2: the same messages with nothing packed."""
    with open(os.path.join(OUT, "caffe.proto"), "w") as f:
        f.write(PROTO)
    unpacked = PROTO.replace("[packed = true]", "[packed = false]").replace(
        "package caffe;", "package caffe_unpacked;")
    with open(os.path.join(tmp, "caffe_unpacked.proto"), "w") as f:
        f.write(unpacked)
    subprocess.run(["protoc", "--proto_path=" + OUT, "--python_out=" + tmp, "caffe.proto"],
                   check=True)
    subprocess.run(["protoc", "--proto_path=" + tmp, "--python_out=" + tmp,
                    "caffe_unpacked.proto"], check=True)
    sys.path.insert(0, tmp)
    import caffe_pb2
    import caffe_unpacked_pb2
    return caffe_pb2, caffe_unpacked_pb2


def make_weights(rng):
    """[(layer, weight, bias)] with Caffe's shapes: conv [O,C,K,K], FC [M,N], biases [O]."""
    weights, channels, side = [], 3, SIZE
    for name, kind, param in NET:
        if kind == "Convolution":
            shape = (param["num_output"], channels, 3, 3)
            channels = param["num_output"]
        elif kind == "InnerProduct":
            shape = (param["num_output"], channels * side * side)
            channels, side = param["num_output"], 1
        else:
            if kind == "Pooling":
                side //= 2
            continue
        fan_in = int(np.prod(shape[1:]))
        w = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        b = (rng.standard_normal(shape[0]) * 0.1).astype(np.float32)
        weights.append((name, w, b))
    return weights


def layer_params(msg, kind, param):
    if kind == "Convolution":
        msg.convolution_param.num_output = param["num_output"]
        msg.convolution_param.pad.append(1)
        msg.convolution_param.kernel_size.append(3)
    elif kind == "Pooling":
        msg.pooling_param.pool = 0
        msg.pooling_param.kernel_size = 2
        msg.pooling_param.stride = 2
    elif kind == "InnerProduct":
        msg.inner_product_param.num_output = param["num_output"]
    elif kind == "Dropout":
        msg.dropout_param.dropout_ratio = 0.5


def wiring():
    """name -> (bottom, top); ReLU and Dropout work in place, as in Caffe's VGG files."""
    out, top = {}, "data"
    for name, kind, _ in NET:
        if kind in ("ReLU", "Dropout"):
            out[name] = (top, top)
        else:
            out[name] = (top, name)
            top = name
    return out


def net_v2(pb, weights, blob_fill):
    net = pb.NetParameter(name="VGG_tiny")
    net.input.append("data")
    net.input_shape.add().dim.extend([1, 3, SIZE, SIZE])
    blobs = {n: (w, b) for n, w, b in weights}
    for name, kind, param in NET:
        layer = net.layer.add(name=name, type=kind)
        bottom, top = wiring()[name]
        layer.bottom.append(bottom)
        layer.top.append(top)
        layer_params(layer, kind, param)
        if name in blobs and blob_fill:
            for array in blobs[name]:
                blob_fill(layer.blobs.add(), array)
    return net


def fill_v2(blob, array):
    blob.shape.dim.extend(array.shape)
    blob.data.extend(array.ravel().tolist())


def fill_double(blob, array):
    blob.shape.dim.extend(array.shape)
    # Off by far less than half a float32 ulp, so that rounding gives the float back.
    values = array.ravel().astype(np.float64)
    blob.double_data.extend((values * (1 + 1e-10)).tolist())


def net_v1(pb, weights):
    net = pb.NetParameter(name="VGG_tiny")
    net.input.append("data")
    net.input_dim.extend([1, 3, SIZE, SIZE])
    blobs = {n: (w, b) for n, w, b in weights}
    for name, kind, param in NET:
        layer = net.layers.add(name=name, type=V1_TYPES[kind])
        bottom, top = wiring()[name]
        layer.bottom.append(bottom)
        layer.top.append(top)
        layer_params(layer, kind, param)
        for array in blobs.get(name, ()):
            blob = layer.blobs.add()
            # Legacy dims right-aligned: [O,C,K,K] fills all four, [M,N] and [N] do not.
            dims = (1,) * (4 - array.ndim) + array.shape
            blob.num, blob.channels, blob.height, blob.width = dims
            blob.data.extend(array.ravel().tolist())
    return net


# ---- Hostile files, written byte by byte where the protobuf library would refuse ----

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, wire, payload):
    tag = varint(number << 3 | wire)
    if wire == 2:
        return tag + varint(len(payload)) + payload
    return tag + payload


def tiny_conv(pb, name="conv1_1", blobs=2, shape=(2, 3, 1, 1)):
    """A V2 NetParameter with one small convolution layer."""
    net = pb.NetParameter(name="tiny")
    layer = net.layer.add(name=name, type="Convolution", bottom=["data"], top=[name])
    layer.convolution_param.num_output = shape[0]
    for i in range(blobs):
        dims = shape if i == 0 else shape[:1]
        blob = layer.blobs.add()
        blob.shape.dim.extend(dims)
        blob.data.extend([0.5 * (j + 1) for j in range(int(np.prod(dims)))])
    return net


def hostile(pb):
    """name -> bytes; test_caffe.c knows what each one's message must say."""
    files = {}
    good = tiny_conv(pb).SerializeToString()
    files["truncated"] = good[:len(good) - 5]
    # A top-level layer whose length points 2^40 bytes on, with 3 bytes left.
    files["length"] = good + varint(100 << 3 | 2) + varint(1 << 40) + b"abc"
    # A blob whose length runs past its layer's end, though not past the file's.
    inner = field(1, 2, b"conv1_1") + varint(7 << 3 | 2) + varint(100) + b"\x00" * 10
    files["nested-length"] = field(100, 2, inner) + field(100, 2, b"\x0a\x01x" * 40)
    net = tiny_conv(pb)
    del net.layer[0].blobs[0].data[-1]
    files["count"] = net.SerializeToString()
    net = tiny_conv(pb, blobs=1)
    del net.layer[0].blobs[0].shape.dim[:]
    net.layer[0].blobs[0].shape.dim.extend([1 << 40, 1 << 40, 1 << 40])
    files["huge-dims"] = net.SerializeToString()
    # Legacy dims of 2^32 values backed by one: must be refused before any allocation.
    net = pb.NetParameter(name="tiny")
    blob = net.layers.add(name="fc6", type=14).blobs.add(num=1, channels=1, height=65536,
                                                          width=65536)
    blob.data.append(1.0)
    files["big-dims"] = net.SerializeToString()
    net = pb.NetParameter(name="tiny")
    net.layers.add(name="fc6", type=14).blobs.add(num=-1, data=[1.0])
    files["negative-dim"] = net.SerializeToString()
    net = tiny_conv(pb)
    old = net.layers.add(name="fc6", type=14)
    old.blobs.add(width=1, data=[1.0])
    files["mixed"] = net.SerializeToString()
    # A group (wire type 3 .. 4) in a layer: proto1's nesting, which Caffe never writes.
    group = varint(50 << 3 | 3) + field(1, 0, varint(1)) + varint(50 << 3 | 4)
    files["group"] = field(100, 2, field(1, 2, b"conv1_1") + group)
    files["varint"] = field(100, 2, field(1, 2, b"conv1_1") + varint(5 << 3 | 0) +
                            b"\xff" * 10 + b"\x01")
    blob = field(7, 2, field(1, 0, varint(2))) + field(5, 2, b"\x00" * 7)
    files["packed"] = field(100, 2, field(1, 2, b"conv1_1") + field(7, 2, blob))
    files["three-blobs"] = tiny_conv(pb, blobs=3).SerializeToString()
    net = tiny_conv(pb, name="bn1", blobs=3, shape=(2,))
    net.layer[0].type = "BatchNorm"
    files["batchnorm"] = net.SerializeToString()
    net = tiny_conv(pb, blobs=0)
    files["no-weights"] = net.SerializeToString()
    return files


def deep(pb, weights):
    """v2 with 1000 nested messages in an unknown field (999) of conv1_1."""
    nest = b""
    for _ in range(1000):
        nest = field(1, 2, nest)
    net = net_v2(pb, weights, fill_v2)
    data = bytearray()
    for layer in net.layer:
        body = layer.SerializeToString()
        if layer.name == "conv1_1":
            body += field(999, 2, nest)
        data += field(100, 2, body)
    del net.layer[:]
    return net.SerializeToString() + bytes(data)


# ---- A reference forward pass, to check OpenCV reads the weights as we mean them ----

def forward(x, weights):
    w = {n: (a, b) for n, a, b in weights}
    y = x[0].astype(np.float64)
    for name, kind, _ in NET:
        if kind == "Convolution":
            a, b = w[name]
            p = np.pad(y, ((0, 0), (1, 1), (1, 1)))
            out = np.zeros((a.shape[0],) + y.shape[1:])
            for i in range(3):
                for j in range(3):
                    patch = p[:, i:i + y.shape[1], j:j + y.shape[2]]
                    out += np.einsum("oc,chw->ohw", a[:, :, i, j], patch)
            y = out + b[:, None, None]
        elif kind == "ReLU":
            y = np.maximum(y, 0)
        elif kind == "Pooling":
            c, h, wd = y.shape
            y = y.reshape(c, h // 2, 2, wd // 2, 2).max(axis=(2, 4))
        elif kind == "InnerProduct":
            a, b = w[name]
            y = a @ y.ravel() + b
            if name == "fc7":
                fc7 = y.copy()
        elif kind == "Softmax":
            e = np.exp(y - y.max())
            y = e / e.sum()
    return fc7[None], y[None]


def opencv_check(paths, x, weights):
    try:
        import cv2
    except ImportError:
        print("python3-opencv is not installed: no OpenCV outputs", file=sys.stderr)
        return
    ref_fc7, ref_prob = forward(x, weights)
    prototxt = os.path.join(OUT, "net.prototxt")
    saved = False
    for path in paths:
        name = os.path.basename(path)
        try:
            net = cv2.dnn.readNetFromCaffe(prototxt, path)
            net.setInput(x)
            fc7, prob = net.forward(["fc7", "prob"])
        except cv2.error as e:
            print("OpenCV cannot read %s: %s" % (name, str(e).strip().splitlines()[-1]),
                  file=sys.stderr)
            continue
        e7 = np.abs(fc7 - ref_fc7).max() / np.abs(ref_fc7).max()
        ep = np.abs(prob - ref_prob).max()
        print("OpenCV %s: %s, fc7 error %.2g, prob error %.2g" % (cv2.__version__, name, e7, ep),
              file=sys.stderr)
        assert e7 < 1e-5 and ep < 1e-6, name
        if not saved:
            np.save(os.path.join(OUT, "opencv.fc7.npy"), fc7.astype(np.float32))
            np.save(os.path.join(OUT, "opencv.prob.npy"), prob.astype(np.float32))
            saved = True


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(2014)
    weights = make_weights(rng)
    x = rng.standard_normal((1, 3, SIZE, SIZE)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        pb, pb_unpacked = compile_proto(tmp)
        with open(os.path.join(OUT, "net.prototxt"), "w") as f:
            f.write(text_format.MessageToString(net_v2(pb, weights, None)))
        v2 = net_v2(pb, weights, fill_v2).SerializeToString()
        files = {
            "v2": v2,
            "v1": net_v1(pb, weights).SerializeToString(),
            "double": net_v2(pb, weights, fill_double).SerializeToString(),
            "unpacked": pb_unpacked.NetParameter.FromString(v2).SerializeToString(),
            "deep": deep(pb, weights),
        }
        assert files["unpacked"] != v2 and pb.NetParameter.FromString(files["unpacked"]) == \
            pb.NetParameter.FromString(v2)
        files.update(("bad-" + k, v) for k, v in hostile(pb).items())
    for name, data in files.items():
        with open(os.path.join(OUT, name + ".caffemodel"), "wb") as f:
            f.write(data)
    with open(os.path.join(OUT, "expected.txt"), "w") as f, \
            open(os.path.join(OUT, "expected.npy"), "wb") as g:
        for name, w, b in weights:
            for part, array in (("weight", w), ("bias", b)):
                f.write("%s.%s %s\n" % (name, part, "x".join(map(str, array.shape))))
                np.save(g, array)
    np.save(os.path.join(OUT, "input.npy"), x)
    opencv_check([os.path.join(OUT, n + ".caffemodel")
                  for n in ("v2", "v1", "double", "unpacked", "deep")], x, weights)


if __name__ == "__main__":
    main()
