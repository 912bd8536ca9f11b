/* graph/op_list.h — the one list of primitive ops.  Everything in
 * dg/graph.h is one of these or a composition of them (graph/compose.c).
 * The enum dg_op, the op table (names, flags, shape and backward rules),
 * the cpu kernel table and the vulkan recorder and shader-code tables are
 * all generated from this list by defining DG_OP and including it; a row
 * that names a function nobody wrote fails the build.
 *
 * A row:  DG_OP(ID, "name", nin, flags, infer, backward, cpu, vulkan, code)
 *   ID        the enum is OP_ID
 *   name      for messages, DG_DEBUG=graph and profiles
 *   nin       inputs (leaves: 0)
 *   flags     OPF_* (graph/graph_impl.h)
 *   infer     dg__infer_<infer>, shape and dtype (graph/infer.c)
 *   backward  dg__bw_<backward>, input gradients in terms of other ops, so
 *             gradients of gradients work (graph/backward.c); none for
 *             leaves and OPF_NODIFF ops
 *   cpu       dg_k_<cpu>, the cpu kernel (cpu/k_*.c); none: not a call
 *   vulkan    dg_vkk_<vulkan>, the recorder (vk/vk_k_*.c); none: not a call
 *   code      the number the recorder passes to its shader, which the
 *             shader switches on (vk/kernel_codes.h, included by both)
 *
 * How to add an op:
 *  1. If it is a composition of existing ops, write it in graph/compose.c
 *     and stop: it gets gradients, both backends and tests for free.
 *  2. Add a row here (in a family's group; the update rows must stay
 *     together: exec.c and the vulkan backend test OP_UPD_SGD..OP_EMA).
 *  3. Its shape rule in graph/infer.c (or reuse one: unary, binary...) and
 *     its backward rule in graph/backward.c (or none with OPF_NODIFF); if
 *     plugins may call it, a constructor in graph/primitives.c declared
 *     in dg/graph.h.
 *  4. Its cpu kernel: a case in the family's kernel (cpu/k_eltwise.c for
 *     an elementwise op) or a new dg_k_<x> in cpu/k_*.c; a oneDNN plan for
 *     it, if any, goes in cpu/plans.c.
 *  5. Its vulkan shader: for an elementwise op a code in vk/kernel_codes.h
 *     (below 32: a fused chain's step holds it in 5 bits) and a case in
 *     shaders/eltwise_ops.glsl (the switch graph_eltwise.comp and
 *     graph_chain.comp share); for a new family, a
 *     recorder dg_vkk_<x> in vk/vk_k_<x>.c and a shader.  The recorder's
 *     limits (dtypes, sizes) belong in dg_vkk_supports() in vk/vk_k_ops.c.
 *  6. A test row in tests/t_ops.c (for an elementwise op one line of
 *     ELEMENTWISE there and one of cases[]): a double reference, shapes,
 *     tolerances.  t_ops fails, naming the op, while no row runs it, and
 *     runs with DG_GUARD=1, so a kernel writing out of bounds fails too.
 * A missing kernel or recorder fails the build: every op runs on both
 * backends.  For example, dg_reciprocal was added this way in 13 lines in
 * 8 files (git log -S DG_ELT_RECIP): its row; dg__bw_recip (gy·-y²); UN(dg_reciprocal, OP_RECIP)
 * and a declaration in dg/graph.h; `case OP_RECIP: LOOP(1 / v);` in
 * k_eltwise.c; DG_ELT_RECIP and `case DG_ELT_RECIP: r = 1.0 / x;`; and in
 * t_ops.c `X(RECIP, 1 / a, dg_reciprocal(g, x0))` and `UN(RECIP, POS, ...)`. */

/*    ID               name                 nin flags                   infer      backward     cpu              vulkan   code */
/* leaves: no kernel */
DG_OP(NONE,            "none",              0, OPF_LEAF | OPF_NODIFF,   none,      none,        none,            none,    0)
DG_OP(INPUT,           "input",             0, OPF_LEAF | OPF_NODIFF,   none,      none,        none,            none,    0)
DG_OP(VAR,             "variable",          0, OPF_LEAF,                none,      none,        none,            none,    0)
DG_OP(CONST,           "constant",          0, OPF_LEAF | OPF_NODIFF,   none,      none,        none,            none,    0)
DG_OP(FILL,            "full",              0, OPF_LEAF | OPF_NODIFF,   none,      none,        none,            none,    0)
/* unary elementwise, f32 -> f32, attributes in fa[]: affine fa0*x + fa1,
 * leaky_relu slope fa0, elu alpha fa0, clamp to [fa0, fa1], inrange 1 where
 * fa0 <= x <= fa1, step 1 where x > 0, pow x^fa0; cast u8/i32 -> f32 times fa0 */
DG_OP(AFFINE,          "affine",            1, OPF_UNARY,               unary,     affine,      unary,           eltwise, DG_ELT_AFFINE)
DG_OP(EXP,             "exp",               1, OPF_UNARY,               unary,     exp,         unary,           eltwise, DG_ELT_EXP)
DG_OP(LOG,             "log",               1, OPF_UNARY,               unary,     log,         unary,           eltwise, DG_ELT_LOG)
DG_OP(SQRT,            "sqrt",              1, OPF_UNARY,               unary,     sqrt,        unary,           eltwise, DG_ELT_SQRT)
DG_OP(RSQRT,           "rsqrt",             1, OPF_UNARY,               unary,     rsqrt,       unary,           eltwise, DG_ELT_RSQRT)
DG_OP(RECIP,           "reciprocal",        1, OPF_UNARY,               unary,     recip,       unary,           eltwise, DG_ELT_RECIP)
DG_OP(ABS,             "abs",               1, OPF_UNARY,               unary,     abs,         unary,           eltwise, DG_ELT_ABS)
DG_OP(SIGN,            "sign",              1, OPF_UNARY | OPF_NODIFF,  unary,     none,        unary,           eltwise, DG_ELT_SIGN)
DG_OP(RELU,            "relu",              1, OPF_UNARY,               unary,     relu,        unary,           eltwise, DG_ELT_RELU)
DG_OP(LEAKY,           "leaky_relu",        1, OPF_UNARY,               unary,     leaky,       unary,           eltwise, DG_ELT_LEAKY)
DG_OP(ELU,             "elu",               1, OPF_UNARY,               unary,     elu,         unary,           eltwise, DG_ELT_ELU)
DG_OP(TANH,            "tanh",              1, OPF_UNARY,               unary,     tanh,        unary,           eltwise, DG_ELT_TANH)
DG_OP(SIGMOID,         "sigmoid",           1, OPF_UNARY,               unary,     sigmoid,     unary,           eltwise, DG_ELT_SIGMOID)
DG_OP(SOFTPLUS,        "softplus",          1, OPF_UNARY,               unary,     softplus,    unary,           eltwise, DG_ELT_SOFTPLUS)
DG_OP(CLAMP,           "clamp",             1, OPF_UNARY,               unary,     clamp,       unary,           eltwise, DG_ELT_CLAMP)
DG_OP(INRANGE,         "inrange",           1, OPF_UNARY | OPF_NODIFF,  unary,     none,        unary,           eltwise, DG_ELT_INRANGE)
DG_OP(STEP,            "step",              1, OPF_UNARY | OPF_NODIFF,  unary,     none,        unary,           eltwise, DG_ELT_STEP)
DG_OP(POWS,            "pow",               1, OPF_UNARY,               unary,     pows,        unary,           eltwise, DG_ELT_POWS)
DG_OP(STOPGRAD,        "stop_gradient",     1, OPF_UNARY | OPF_NODIFF,  unary,     none,        unary,           eltwise, DG_ELT_COPY)
DG_OP(CAST,            "cast",              1, OPF_NODIFF,              cast,      none,        cast,            eltwise, DG_ELT_CAST)
/* binary elementwise with broadcasting; where is (cond, a, b) */
DG_OP(ADD,             "add",               2, OPF_BINARY,              binary,    add,         binary,          eltwise, DG_ELT_ADD)
DG_OP(SUB,             "sub",               2, OPF_BINARY,              binary,    sub,         binary,          eltwise, DG_ELT_SUB)
DG_OP(MUL,             "mul",               2, OPF_BINARY,              binary,    mul,         binary,          eltwise, DG_ELT_MUL)
DG_OP(DIV,             "div",               2, OPF_BINARY,              binary,    div,         binary,          eltwise, DG_ELT_DIV)
DG_OP(MAX,             "maximum",           2, OPF_BINARY,              binary,    maxmin,      binary,          eltwise, DG_ELT_MAX)
DG_OP(MIN,             "minimum",           2, OPF_BINARY,              binary,    maxmin,      binary,          eltwise, DG_ELT_MIN)
DG_OP(GT,              "greater",           2, OPF_BINARY | OPF_NODIFF, binary,    none,        binary,          eltwise, DG_ELT_GT)
DG_OP(GE,              "greater_equal",     2, OPF_BINARY | OPF_NODIFF, binary,    none,        binary,          eltwise, DG_ELT_GE)
DG_OP(EQ,              "equal",             2, OPF_BINARY | OPF_NODIFF, binary,    none,        binary,          eltwise, DG_ELT_EQ)
DG_OP(WHERE,           "where",             3, 0,                       binary,    where,       where,           eltwise, DG_ELT_WHERE)
/* reductions to a broadcast-compatible shape (ia: the shape), the adjoint;
 * matmul: ia0 trans_a, ia1 trans_b */
DG_OP(SUM_TO,          "sum",               1, 0,                       reduce_to, sum_to,      reduce,          reduce,  DG_REDUCE_SUM)
DG_OP(MAX_TO,          "max",               1, 0,                       reduce_to, max_to,      reduce,          reduce,  DG_REDUCE_MAX)
DG_OP(EXPAND,          "expand",            1, 0,                       expand,    expand,      expand,          eltwise, DG_ELT_COPY)
DG_OP(MATMUL,          "matmul",            2, 0,                       matmul,    matmul,      matmul,          gemm,    DG_GEMM_MATMUL)
/* data movement: reshape shares its input's buffer; permute ia[i] = input
 * axis of output axis i; slice ia[i] = start on axis i, dims = sizes; pad
 * ia[i] = before on axis i, fa0 = value; resample (x, table) -> shape ia
 * (x's but its last two axes), each element a weighted sum of a few of x's
 * within its plane, the taps of each of the two axes in a constant table
 * (graph/resample.c: bilinear upsampling, reflection and replication
 * padding; its adjoint is a resample by the transposed table); softmaxes
 * over the axis with ia0 axes after it (0: the last) */
DG_OP(RESHAPE,         "reshape",           1, OPF_ALIAS,               reshape,   reshape,     none,            none,    0)
DG_OP(PERMUTE,         "permute",           1, 0,                       permute,   permute,     permute,         shape,   DG_SHAPE_MOVE)
DG_OP(SLICE,           "slice",             1, 0,                       slice,     slice,       slice,           shape,   DG_SHAPE_MOVE)
DG_OP(PAD,             "pad",               1, 0,                       pad,       pad,         pad,             shape,   DG_SHAPE_PAD)
DG_OP(RESAMPLE,        "resample",          2, 0,                       resample,  resample,    resample,        resample, 0)
DG_OP(SOFTMAX,         "softmax",           1, 0,                       softmax,   softmax,     softmax,         reduce,  DG_REDUCE_SOFTMAX)
DG_OP(LOG_SOFTMAX,     "log_softmax",       1, 0,                       softmax,   log_softmax, softmax,         reduce,  DG_REDUCE_LOG_SOFTMAX)
/* Gated PixelCNN's gate along axis ia0: gate x -> tanh(a)·σ(b) of x's
 * halves a, b (the axis halved); gate_bwd (x, dy) -> dx, x's shape.  One
 * pass each instead of two slices, tanh, sigmoid, a product and, going
 * back, four products, two pads and a sum. */
DG_OP(GATE,            "gated_activation",  1, 0,                       gate,      gate,        gate,            gate,    DG_GATE_FWD)
DG_OP(GATE_BWD,        "gated_activation_bwd", 2, 0,                    gate,      gate_bwd,    gate,            gate,    DG_GATE_BWD)
/* convolutions, ia: stride, pad, dilation: conv (x N×C×H×W, w O×C×KH×KW);
 * bwd_data (dy N×O×OH×OW, w) -> dims given (N×C×H×W); bwd_filter (x, dy)
 * -> dims given (O×C×KH×KW) */
DG_OP(CONV,            "conv2d",            2, 0,                       conv,      conv,        conv,            gemm,    DG_GEMM_CONV)
DG_OP(CONV_BWD_DATA,   "conv2d_bwd_data",   2, 0,                       conv,      conv,        conv_bwd_data,   gemm,    DG_GEMM_BWD_DATA)
DG_OP(CONV_BWD_FILTER, "conv2d_bwd_filter", 2, 0,                       conv,      conv,        conv_bwd_filter, gemm,    DG_GEMM_BWD_FILTER)
/* general convolutions: grouped, per-axis, 2-d or 3-d (a uniform 2-d one
 * without groups is CONV, the tuned GEMM path), ia as DG_CIA_* of
 * graph_impl.h: conv (x N×C×[D×]H×W, w O×(C/groups)×[KD×]KH×KW), group
 * j's outputs see its C/groups inputs; bwd_data (dy, w) -> dims given;
 * bwd_filter (x, dy) -> dims given */
DG_OP(CONV_ND,         "conv_nd",           2, 0,                       conv_nd,   conv_nd,     conv_nd,         conv_nd, DG_CONV_FWD)
DG_OP(CONV_ND_BWD_DATA, "conv_nd_bwd_data", 2, 0,                      conv_nd,   conv_nd,     conv_nd_bwd_data, conv_nd, DG_CONV_BWD_DATA)
DG_OP(CONV_ND_BWD_FILTER, "conv_nd_bwd_filter", 2, 0,                  conv_nd,   conv_nd,     conv_nd_bwd_filter, conv_nd, DG_CONV_BWD_FILTER)
/* pooling of N×C×H×W or N×C×D×H×W, ia as DG_PIA_*: max_pool_bwd (x, dy)
 * -> x's shape, dy added at the first maximum of each window of x (in
 * row-major order); max_pool_pick (x, h) -> the pooled shape, h at those
 * places (the adjoint of max_pool_bwd in dy); avg_pool_bwd (dy) -> dims
 * given */
DG_OP(MAX_POOL,        "max_pool",          1, 0,                       pool,      max_pool,    pool,            pool,    DG_POOL_MAX)
DG_OP(MAX_POOL_BWD,    "max_pool_bwd",      2, 0,                       pool,      max_pool_bwd, pool,           pool,    DG_POOL_MAX_BWD)
DG_OP(MAX_POOL_PICK,   "max_pool_pick",     2, 0,                       pool,      max_pool_pick, pool,          pool,    DG_POOL_MAX_PICK)
DG_OP(AVG_POOL,        "avg_pool",          1, 0,                       pool,      avg_pool,    pool,            pool,    DG_POOL_AVG)
DG_OP(AVG_POOL_BWD,    "avg_pool_bwd",      1, 0,                       pool,      avg_pool,    pool,            pool,    DG_POOL_AVG_BWD)
/* indices: gather (table V×D, idx S) -> S×D; scatter_add (src S×D, idx S)
 * -> V×D, ia0 = V; one_hot (idx S) -> S×K, ia0 = K; argmax over the last
 * axis; pick (x S×K, idx S) -> S: x[s, idx[s]]; place (src S, idx S) -> S×K,
 * zeros but src at idx, ia0 = K */
DG_OP(GATHER,          "gather",            2, 0,                       gather,    gather,      gather,          index,   DG_INDEX_GATHER)
DG_OP(SCATTER_ADD,     "scatter_add",       2, 0,                       scatter,   scatter,     scatter_add,     index,   DG_INDEX_SCATTER)
DG_OP(ONE_HOT,         "one_hot",           1, OPF_NODIFF,              one_hot,   none,        one_hot,         index,   DG_INDEX_ONE_HOT)
DG_OP(ARGMAX,          "argmax",            1, OPF_NODIFF,              argmax,    none,        argmax,          reduce,  DG_REDUCE_ARGMAX)
DG_OP(PICK,            "pick",              2, 0,                       pick,      pick,        pick,            index,   DG_INDEX_PICK)
DG_OP(PLACE,           "place",             2, 0,                       place,     place,       place,           index,   DG_INDEX_PLACE)
/* random draws; ia0 = stream */
DG_OP(RNG_UNIFORM,     "random_uniform",    0, OPF_NODIFF | OPF_RANDOM, rng,       none,        rng,             rng,     DG_RNG_UNIFORM)
DG_OP(RNG_NORMAL,      "random_normal",     0, OPF_NODIFF | OPF_RANDOM, rng,       none,        rng,             rng,     DG_RNG_NORMAL)
/* side effects on variables (no output); ia0 = update id or trigger:
 * updates (param, grad), assign (var, value): var := value, ema (ema var,
 * param var) */
DG_OP(UPD_SGD,         "sgd_update",        2, OPF_NODIFF | OPF_SIDE,   update,    none,        update,          optim,   DG_OPTIM_SGD)
DG_OP(UPD_ADAM,        "adam_update",       2, OPF_NODIFF | OPF_SIDE,   update,    none,        update,          optim,   DG_OPTIM_ADAM)
DG_OP(UPD_RMSPROP,     "rmsprop_update",    2, OPF_NODIFF | OPF_SIDE,   update,    none,        update,          optim,   DG_OPTIM_RMSPROP)
DG_OP(ASSIGN,          "assign",            2, OPF_NODIFF | OPF_SIDE,   update,    none,        assign,          optim,   DG_OPTIM_ASSIGN)
DG_OP(EMA,             "ema_update",        2, OPF_NODIFF | OPF_SIDE,   update,    none,        ema,             optim,   DG_OPTIM_EMA)
