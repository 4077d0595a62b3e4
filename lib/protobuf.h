/*
 * protobuf.h: a reader of the protobuf wire format over bytes in memory (protobuf.c), for
 * caffe.c.  Nothing is copied: fields point into the caller's buffer, which must outlive
 * the readers made over it.  Sizes are 64-bit throughout, since one Caffe blob can exceed
 * 500 MB, and every length is checked against the bytes left before it is used.
 *
 * Functions that can fail return -1 and leave a message without a file name in the
 * reader's `error`; the caller adds the name.
 */
#ifndef VGG_PROTOBUF_H
#define VGG_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

/* How deep messages may nest; the deepest Caffe path (net, layer, blob, shape) is 4. */
#define VGG__PB_MAX_DEPTH 16

enum vgg__pb_wire {
	VGG__PB_VARINT = 0,
	VGG__PB_I64 = 1,   /* fixed64, sfixed64, double */
	VGG__PB_LEN = 2,   /* strings, bytes, messages, packed repeated scalars */
	VGG__PB_I32 = 5    /* fixed32, sfixed32, float */
};

/* A message being read: the bytes from pos to end, `depth` messages below the outermost. */
typedef struct vgg__pb_msg {
	const unsigned char *base;   /* the whole buffer: offsets in messages count from here */
	const unsigned char *pos, *end;
	int depth;
	char error[160];
} vgg__pb_msg;

typedef struct vgg__pb_field {
	uint32_t number;
	enum vgg__pb_wire wire;
	uint64_t offset;             /* of the field's tag, from base */
	uint64_t u;                  /* VARINT, I32, I64: the value's bits */
	const unsigned char *data;   /* LEN: the contents, `len` bytes */
	uint64_t len;
} vgg__pb_field;

/* A reader over a whole buffer: the outermost message. */
void vgg__pb_init(vgg__pb_msg *m, const void *data, size_t size);

/*
 * Reads the next field whole: 1 with *f filled, 0 at the end of the message, -1 on bytes
 * that are no field (a bad tag, a group, a varint over 10 bytes, a value past the end).
 * A field the caller does not know is skipped simply by not looking at it.
 */
int vgg__pb_next(vgg__pb_msg *m, vgg__pb_field *f);

/*
 * Reads only the next field's tag and, for LEN fields, its length, leaving m->pos at the
 * value; the length is not checked against the message.  For sniffing a file's first bytes:
 * vgg__pb_value then takes the value, with every check vgg__pb_next makes.
 */
int vgg__pb_header(vgg__pb_msg *m, vgg__pb_field *f);
int vgg__pb_value(vgg__pb_msg *m, vgg__pb_field *f);

/* The reader of an embedded message (a LEN field); -1 when nested too deep or f is no LEN
 * field, with the message in m->error. */
int vgg__pb_enter(vgg__pb_msg *m, const vgg__pb_field *f, vgg__pb_msg *sub);

/* A packed repeated field's contents as a reader to take varints from; no depth counted. */
void vgg__pb_packed(const vgg__pb_msg *m, const vgg__pb_field *f, vgg__pb_msg *packed);

/* The next varint of m: 1, 0 at its end, -1 when malformed. */
int vgg__pb_varint(vgg__pb_msg *m, uint64_t *v);

/*
 * Repeated float (size 4) or double (size 8) fields, each occurrence packed (LEN) or one
 * value (I32 or I64):  vgg__pb_fixed_count adds the occurrence's count of values to *count
 * (-1 on a wire type or packed length that does not fit `size`), and vgg__pb_fixed_floats
 * then writes them, converted to float, from dst on and returns how many it wrote.
 */
int vgg__pb_fixed_count(vgg__pb_msg *m, const vgg__pb_field *f, int size, uint64_t *count);
uint64_t vgg__pb_fixed_floats(const vgg__pb_field *f, int size, float *dst);

#endif
