// Probe-particle relaxation over a tabulated force field, and Fz -> Δf
// (afmkit, NumPy twins: relax.relax_numpy and frequency.fz_to_df).
//
// Units: Å, eV; spring constants in eV/Å² (k_lat_ev, k_rad_ev); forces in eV/Å; FIRE time in the
// model's units (mass 1). Every FIRE constant is a kernel argument, passed by
// afmkit.physics.opencl.relax from the same relax.FireSettings the NumPy twin uses: this file holds
// no FIRE literals.
//
// The tip apex of each pixel approaches from z_top downwards in n_samples steps of dz; at every
// step the probe particle (PP) relaxes by FIRE, starting from its displacement from the apex
// extrapolated from the two previous heights, and the z force of the sample on the relaxed PP is
// recorded.
//
// One work item = PX_PER_ITEM consecutive pixels, one per lane of an OpenCL vector (floatv), so a
// CPU runs the FIRE arithmetic in SIMD lanes (masked FIRE): every lane steps until its own |F|²
// falls below f2_conv, then it is frozen while the others go on, and the item stops when all
// lanes have converged or after max_iter steps. Each pixel therefore follows exactly the path of
// a pixel relaxed alone (relax_numpy's active set). Only the force-field gather is per lane.
//
// ff: float4 (Fx, Fy, Fz, E) on the grid, index (ix * ny + iy) * nz + iz (z fastest), point =
// origin + i * step.

#ifndef GRID_CLAMP
#error "build with -DGRID_CLAMP=<grid cells> (afmkit.physics.opencl does)"
#endif
#ifndef PX_PER_ITEM
#error "build with -DPX_PER_ITEM=<4, 8 or 16> (afmkit.physics.opencl does)"
#endif
#if PX_PER_ITEM == 4
typedef float4 floatv;
typedef int4 intv;
#define vloadv vload4
#define vstorev vstore4
#define vstorei vstore4
#define convert_intv convert_int4
#elif PX_PER_ITEM == 8
typedef float8 floatv;
typedef int8 intv;
#define vloadv vload8
#define vstorev vstore8
#define vstorei vstore8
#define convert_intv convert_int8
#elif PX_PER_ITEM == 16
typedef float16 floatv;
typedef int16 intv;
#define vloadv vload16
#define vstorev vstore16
#define vstorei vstore16
#define convert_intv convert_int16
#else
#error "PX_PER_ITEM must be 4, 8 or 16"
#endif

typedef struct { floatv x, y, z; } vec3v;

// Trilinear interpolation of (Fx, Fy, Fz, E) at the lanes' positions; E only if e_out != 0.
inline vec3v ff_at(
    __global const float4* restrict ff, const vec3v pos,
    const int nx, const int ny, const int nz, const float3 origin, const float inv_step,
    floatv* e_out
){
    // Stay inside the box: the PP never should leave it, and if it does it feels the edge value.
    // GRID_CLAMP (relax.GRID_CLAMP, a build option) keeps the stencil's far corner inside.
    const floatv gx = clamp((pos.x - origin.x) * inv_step, 0.0f, nx - GRID_CLAMP);
    const floatv gy = clamp((pos.y - origin.y) * inv_step, 0.0f, ny - GRID_CLAMP);
    const floatv gz = clamp((pos.z - origin.z) * inv_step, 0.0f, nz - GRID_CLAMP);
    const floatv flx = floor(gx), fly = floor(gy), flz = floor(gz);
    const intv i0v = (convert_intv(flx) * ny + convert_intv(fly)) * nz + convert_intv(flz);
    int i0[PX_PER_ITEM];
    float tx[PX_PER_ITEM], ty[PX_PER_ITEM], tz[PX_PER_ITEM];
    float ox[PX_PER_ITEM], oy[PX_PER_ITEM], oz[PX_PER_ITEM], oe[PX_PER_ITEM];
    vstorev(gx - flx, 0, tx);
    vstorev(gy - fly, 0, ty);
    vstorev(gz - flz, 0, tz);
    vstorei(i0v, 0, i0);
    const int sx = ny * nz, sy = nz;   // z fastest: (i, i + 1) is one z pair
    for (int k = 0; k < PX_PER_ITEM; k++) {
        const int i = i0[k];
        const float4 c00 = mix(ff[i],          ff[i + sx],          tx[k]);
        const float4 c10 = mix(ff[i + sy],     ff[i + sy + sx],     tx[k]);
        const float4 c01 = mix(ff[i + 1],      ff[i + 1 + sx],      tx[k]);
        const float4 c11 = mix(ff[i + 1 + sy], ff[i + 1 + sy + sx], tx[k]);
        const float4 c = mix(mix(c00, c10, ty[k]), mix(c01, c11, ty[k]), tz[k]);
        ox[k] = c.x;
        oy[k] = c.y;
        oz[k] = c.z;
        oe[k] = c.w;
    }
    if (e_out) *e_out = vloadv(0, oe);
    return (vec3v){vloadv(0, ox), vloadv(0, oy), vloadv(0, oz)};
}

__kernel void relax_probe(
    __global const float4* restrict ff,
    const int nx, const int ny, const int nz,
    const float4 origin4, const float inv_step,
    const float x0, const float y0, const float sx, const float sy, const int n_py,
    const int n_px,               // number of pixels (the last item's extra lanes are idle)
    const float z_top, const float dz, const int n_samples,
    const float4 rest,            // PP rest offset from the tip apex (x, y, z) and rest length w, Å
    const float k_lat_ev, const float k_rad_ev,   // spring constants, eV/Å²
    // FIRE (relax.FireSettings): largest and smallest time step, their growth and shrink factors,
    // initial mixing alpha and its shrink factor, step limit, convergence threshold |F|² (eV²/Å²)
    const float dt_max, const float dt_min, const float f_inc, const float f_dec,
    const float alpha0, const float f_alpha, const int max_iter, const float f2_conv,
    __global float* restrict fz_out,      // (n_pixels, n_samples)
    __global float4* restrict pos_out,    // (n_pixels, n_samples) PP positions, or unused
    const int store_pos
){
    const int p0 = get_global_id(0) * PX_PER_ITEM;
    const float3 origin = origin4.xyz;
    float tipx_a[PX_PER_ITEM], tipy_a[PX_PER_ITEM];
    for (int k = 0; k < PX_PER_ITEM; k++) {
        const int p = min(p0 + k, n_px - 1);   // idle lanes repeat the last pixel
        tipx_a[k] = x0 + (p / n_py) * sx;
        tipy_a[k] = y0 + (p % n_py) * sy;
    }
    const floatv tipx = vloadv(0, tipx_a), tipy = vloadv(0, tipy_a);
    floatv tipz = (floatv)(z_top);
    // displacement PP − apex: current start and the previous height's relaxed one
    vec3v d = {(floatv)(rest.x), (floatv)(rest.y), (floatv)(rest.z)};
    vec3v d_prev = d;

    for (int s = 0; s < n_samples; s++) {
        vec3v pos = {tipx + d.x, tipy + d.y, tipz + d.z};
        vec3v v = {(floatv)(0.0f), (floatv)(0.0f), (floatv)(0.0f)};
        floatv dt = (floatv)(dt_max);
        floatv alpha = (floatv)(alpha0);
        intv active = (intv)(-1);
        vec3v fe = ff_at(ff, pos, nx, ny, nz, origin, inv_step, 0);
        for (int it = 0; it < max_iter; it++) {
            // spring force on the PP: lateral springs to the rest offset, radial to the length
            const floatv dx = pos.x - tipx, dy = pos.y - tipy, dzz = pos.z - tipz;
            const floatv r = sqrt(dx * dx + dy * dy + dzz * dzz);
            const floatv kr = -k_rad_ev * (r - rest.w) / r;
            const floatv fx = fe.x + dx * kr - k_lat_ev * (dx - rest.x);
            const floatv fy = fe.y + dy * kr - k_lat_ev * (dy - rest.y);
            const floatv fz = fe.z + dzz * kr;
            const floatv ff2 = fx * fx + fy * fy + fz * fz;
            active &= isgreaterequal(ff2, (floatv)(f2_conv));
            if (!any(active)) break;
            const floatv vf = v.x * fx + v.y * fy + v.z * fz;
            const intv up = isgreater(vf, (floatv)(0.0f));
            const floatv mixf = alpha * sqrt((v.x * v.x + v.y * v.y + v.z * v.z) / ff2);
            const floatv keep = 1.0f - alpha;
            floatv nvx = select((floatv)(0.0f), v.x * keep + fx * mixf, up);
            floatv nvy = select((floatv)(0.0f), v.y * keep + fy * mixf, up);
            floatv nvz = select((floatv)(0.0f), v.z * keep + fz * mixf, up);
            const floatv ndt = select(fmax(dt * f_dec, dt_min), fmin(dt * f_inc, dt_max), up);
            const floatv nal = select((floatv)(alpha0), alpha * f_alpha, up);
            nvx += fx * ndt;
            nvy += fy * ndt;
            nvz += fz * ndt;
            // only the lanes still moving take the step
            v.x = select(v.x, nvx, active);
            v.y = select(v.y, nvy, active);
            v.z = select(v.z, nvz, active);
            pos.x = select(pos.x, pos.x + nvx * ndt, active);
            pos.y = select(pos.y, pos.y + nvy * ndt, active);
            pos.z = select(pos.z, pos.z + nvz * ndt, active);
            dt = select(dt, ndt, active);
            alpha = select(alpha, nal, active);
            fe = ff_at(ff, pos, nx, ny, nz, origin, inv_step, 0);
        }
        float fz_a[PX_PER_ITEM];
        vstorev(fe.z, 0, fz_a);
        for (int k = 0; k < PX_PER_ITEM && p0 + k < n_px; k++)
            fz_out[(p0 + k) * n_samples + s] = fz_a[k];
        if (store_pos) {
            floatv e;
            ff_at(ff, pos, nx, ny, nz, origin, inv_step, &e);
            float px_a[PX_PER_ITEM], py_a[PX_PER_ITEM], pz_a[PX_PER_ITEM], e_a[PX_PER_ITEM];
            vstorev(pos.x, 0, px_a);
            vstorev(pos.y, 0, py_a);
            vstorev(pos.z, 0, pz_a);
            vstorev(e, 0, e_a);
            for (int k = 0; k < PX_PER_ITEM && p0 + k < n_px; k++)
                pos_out[(p0 + k) * n_samples + s] = (float4)(px_a[k], py_a[k], pz_a[k], e_a[k]);
        }
        // Warm start: the next height starts from the displacement extrapolated linearly from
        // the last two relaxed ones (the first height has no predecessor).
        const vec3v d_now = {pos.x - tipx, pos.y - tipy, pos.z - tipz};
        if (s > 0) {
            d.x = 2.0f * d_now.x - d_prev.x;
            d.y = 2.0f * d_now.y - d_prev.y;
            d.z = 2.0f * d_now.z - d_prev.z;
        } else {
            d = d_now;
        }
        d_prev = d_now;
        tipz -= dz;
    }
}

// Δf from Fz: df[p, k] = sum_l w[l] * fz[p, k + l]   (fz in approach order, top first).
__kernel void fz_to_df(
    __global const float* restrict fz, __global float* restrict df,
    __constant float* w, const int m, const int n_in, const int n_out
){
    const int p = get_global_id(0);
    for (int k = 0; k < n_out; k++) {
        float acc = 0.0f;
        for (int l = 0; l < m; l++) acc += w[l] * fz[p * n_in + k + l];
        df[p * n_out + k] = acc;
    }
}
