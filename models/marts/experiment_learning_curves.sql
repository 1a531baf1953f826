{#- Learning curves an analyst or a chart can read without the long per-epoch
    views: one row per (experiment, epoch) on a grid of at most
    `butter_curve_max_points` (256) epochs per experiment (butter_epoch_grid:
    every epoch of a short curve; else epoch 1, the last epoch, a geometric and
    a linear grid, and the best epoch of the median test-loss curve). Values
    are the published summary arrays at that epoch, finite or NULL: the points
    of the copy each experiment is read from, computed in the decode store's
    one pass over each file's arrays (int_experiment_curve_points,
    macros/intermediate/butter_curve_points.sql), so a build that decodes no
    file reads no summary array here. For an experiment with runs but no
    published summary they are computed here from its runs, with the same
    statistics (over finite values, continuous quantiles, sample standard
    deviation as NREL computed it). -#}
{%- set max_points = var('butter_curve_max_points') -%}
{%- set statistics = butter_learning_curve_statistics() -%}
{%- set metrics = statistics | map(attribute='metric') | unique | list -%}

with

curve_points as (
    select
        experiment_id,
        learning_curve
    from {{ ref('int_experiment_curve_points') }}
),

experiments_located as (
    select experiment_id from {{ ref('int_experiments_located') }}
),

runs_located as (
    select experiment_id from {{ ref('int_runs_located') }}
),

{# Experiments with runs but no summary, from the small located tables first, so
    that only their runs' arrays are read below (a semi-join with a small or
    empty build side), not every run's. -#}
run_only_experiments as (
    select distinct experiment_id
    from runs_located
    where experiment_id not in (select experiments_located.experiment_id from experiments_located)
),

run_only_runs as (
    select
        {%- for metric in metrics %}
            {{ metric }},
        {%- endfor %}
        experiment_id
    from {{ ref('int_runs_deduplicated') }}
    where experiment_id in (select run_only_experiments.experiment_id from run_only_experiments)
),

{# Published curves: each read copy's points (its grid and every statistic
    at the grid's epochs, lists of the grid's length; a struct field keeps its
    name on every engine), unnested together. -#}
published_at_grid as (
    select
        {%- for stat in statistics %}
            curve_points.learning_curve.{{ stat.column }},
        {%- endfor %}
        curve_points.experiment_id,
        curve_points.learning_curve.num_epochs,
        curve_points.learning_curve.best_epoch,
        curve_points.learning_curve.grid
    from curve_points
),

published_rows as (
    {{ butter_unnest_zipped(
        'published_at_grid',
        ['grid'] + statistics | map(attribute='column') | list,
        ['experiment_id', 'num_epochs', 'best_epoch', "'published_summary' as values_source"]
    ) }}
),

{# Experiments with runs but no published summary: the same statistics
    computed from their runs at every epoch (only these runs are unnested),
    then the same grid. -#}
run_epochs as (
    {{ butter_unnest_epochs('run_only_runs', ['experiment_id'], metrics) }}
),

finite_run_epochs as (
    select
        {%- for metric in metrics %}
            cast({{ butter_finite_or_null(metric) }} as double) as {{ metric }},
        {%- endfor %}
        experiment_id,
        epoch
    from run_epochs
),

computed_epochs as (
    select
        {%- for stat in statistics %}
            {%- if stat.statistic == 'num_finite' %}
                count({{ stat.metric }}) as {{ stat.column }},
            {%- elif stat.statistic == 'median' %}
                {{ butter_quantile_cont(stat.metric, 0.5) }} as {{ stat.column }},
            {%- elif stat.statistic == 'q1' %}
                {{ butter_quantile_cont(stat.metric, 0.25) }} as {{ stat.column }},
            {%- elif stat.statistic == 'q3' %}
                {{ butter_quantile_cont(stat.metric, 0.75) }} as {{ stat.column }},
            {%- elif stat.statistic == 'stddev' %}
                stddev_samp({{ stat.metric }}) as {{ stat.column }},
            {%- else %}
                {{ stat.statistic }}({{ stat.metric }}) as {{ stat.column }},
            {%- endif %}
        {%- endfor %}
        experiment_id,
        epoch
    from finite_run_epochs
    group by experiment_id, epoch
),

computed_curves as (
    select
        experiment_id,
        max(epoch) as num_epochs,
        min(epoch) filter (where test_loss_median is not null and test_loss_median = median_curve_best_test_loss)
            as best_epoch
    from (
        select
            *,
            min(test_loss_median) over (partition by experiment_id) as median_curve_best_test_loss
        from computed_epochs
    ) as with_best
    group by experiment_id
),

computed_grids as (
    select
        *,
        {{ butter_epoch_grid('num_epochs', 'best_epoch', max_points) }} as grid
    from computed_curves
),

computed_rows as (
    select
        computed_epochs.epoch as grid,
        {%- for stat in statistics %}
            computed_epochs.{{ stat.column }},
        {%- endfor %}
        computed_epochs.experiment_id,
        computed_grids.num_epochs,
        computed_grids.best_epoch,
        'runs' as values_source
    from computed_epochs
    inner join computed_grids
        on computed_epochs.experiment_id = computed_grids.experiment_id
    where {{ butter_list_contains('computed_grids.grid', 'computed_epochs.epoch') }}
),

all_rows as (
    select * from published_rows
    union all
    select * from computed_rows
),

final as (
    select
        {{ butter_mart_value('experiment_id') }} as experiment_id,
        cast(grid as integer) as epoch,
        cast(num_epochs as integer) as num_epochs,
        coalesce(grid = best_epoch, false) as is_median_curve_best_test_loss_epoch,
        {%- for stat in statistics %}
            {%- if stat.statistic == 'num_finite' %}
                cast({{ stat.column }} as integer) as {{ stat.column }},
            {%- else %}
                cast({{ stat.column }} as float) as {{ stat.column }},
            {%- endif %}
        {%- endfor %}
        values_source
    from all_rows
)

select * from final
