{#- Distributions over an experiment's runs of each run's best points, two
    sources side by side (naming rule: suffixed with the statistic; the prefix
    says whose): `best_...` the warehouse's own, from the runs present
    (`best_test_loss_median` is the median over runs of each run's best test
    loss, not a figure of the published median curve); `nrel_best_...` NREL's
    published distribution, its epochs converted to 1-based by the detected
    base (audit.best_point_epoch_base), or as stored when the base is unknown
    (`nrel_epoch_base` NULL). -#}
{%- set run_figures = butter_run_best_point_figures() -%}

with

best_points as (
    select * from {{ ref('int_experiment_best_points') }}
),

epoch_base as (
    select epoch_base from {{ ref('int_best_point_epoch_base') }}
),

final as (
    select
        best_points.experiment_id,
        best_points.dataset,
        best_points.task_type,
        {%- for column in run_figures %}
            {%- for stat in butter_distribution_statistics() %}
                best_points.{{ column }}_{{ stat }},
            {%- endfor %}
        {%- endfor %}
        best_points.runs_found,
        {%- for best in butter_best_point_metrics() %}
            best_points.runs_with_finite_{{ best.metric }},
        {%- endfor %}
        best_points.runs_with_final_train_loss,
        best_points.has_published_summary,
        best_points.has_nrel_best_points,
        epoch_base.epoch_base as nrel_epoch_base,
        {%- for statistic in butter_best_point_statistics() %}
            {%- set stored = butter_finite_or_null('best_points.' ~ statistic.nrel) %}
            {%- if statistic.part == 'epoch' %}
                cast({{ stored }} as double) + coalesce(1 - epoch_base.epoch_base, 0)
                    as {{ statistic.nrel }}{% if not loop.last %},{% endif %}
            {%- else %}
                {{ stored }} as {{ statistic.nrel }}{% if not loop.last %},{% endif %}
            {%- endif %}
        {%- endfor %}
    from best_points
    left join epoch_base
        on true
)

select * from final
